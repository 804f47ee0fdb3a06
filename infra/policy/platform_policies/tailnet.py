"""Policies 12-13: the tailnet's auth keys and its policy file."""

from __future__ import annotations

from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import hujson
from .resources import TAILNET_ACL, TAILNET_KEY
from .settings import (
    ACL_OWNER_SCHEMA,
    DEFAULT_ACL_OWNER_STACK,
    DEFAULT_REUSABLE_KEY_MAX_EXPIRY_DAYS,
    KEY_EXPIRY_SCHEMA,
    setting,
)
from .values import entries, is_unknown, mapping, plain, stack_of

# Tailscale's expiry when a key sets none (the provider's documented default).
DEFAULT_KEY_EXPIRY_SECONDS: Final = 90 * 24 * 3600


def _validate_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != TAILNET_KEY:
        return
    props = mapping(plain(args.props))
    name = args.name
    tags = props.get("tags")
    if not is_unknown(tags) and not any(is_unknown(tag) for tag in entries(tags)):
        known = [tag for tag in entries(tags) if isinstance(tag, str)]
        if not known:
            report(f"auth key '{name}' has no tags, so its devices would belong to the key's creator.", None)
        malformed = [tag for tag in known if not tag.startswith("tag:")]
        if malformed:
            report(f"auth key '{name}' has tags without the 'tag:' prefix: {', '.join(malformed)}.", None)
    preauthorized = props.get("preauthorized")
    if not is_unknown(preauthorized) and preauthorized is not True:
        report(f"auth key '{name}' is not preauthorized.", None)
    reusable, ephemeral, expiry = props.get("reusable"), props.get("ephemeral"), props.get("expiry")
    if reusable is not True or ephemeral is True or is_unknown(ephemeral) or is_unknown(expiry):
        return
    bound_days = float(
        setting(args.get_config(), "reusableKeyMaxExpiryDays", DEFAULT_REUSABLE_KEY_MAX_EXPIRY_DAYS)
    )
    seconds = float(expiry) if isinstance(expiry, int | float) and expiry > 0 else DEFAULT_KEY_EXPIRY_SECONDS
    if seconds > bound_days * 86400:
        report(
            f"reusable auth key '{name}' is not ephemeral and expires after {seconds / 86400:g} days, "
            f"beyond the {bound_days:g}-day bound.",
            None,
        )


TAILNET_KEYS: Final = ResourceValidationPolicy(
    name="tailnet-keys-tagged-preauthorized-and-bounded",
    description=(
        "Tailnet auth keys are tagged and preauthorized, and a reusable key is ephemeral or expires "
        "within reusableKeyMaxExpiryDays. Fix: give the TailnetKey tags=['tag:<node>'] (owned in the "
        "policy file's tagOwners) and preauthorized=True; make a reusable key ephemeral=True or set "
        "expiry=<seconds> within the bound (or use a single-use key)."
    ),
    validate=_validate_key,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=KEY_EXPIRY_SCHEMA,
)


def stack_name(resources: list[PolicyResource]) -> str:
    for resource in resources:
        name = stack_of(resource.urn)
        if name:
            return name
    return ""


def _policy_file_problems(acl: PolicyResource) -> list[str]:
    text = mapping(plain(acl.props)).get("acl")
    if is_unknown(text):
        return []
    if not isinstance(text, str):
        return [f"tailnet policy file '{acl.name}' has no acl document"]
    try:
        document: Any = hujson.loads(text)
    except ValueError as error:
        return [f"tailnet policy file '{acl.name}' is not valid HuJSON: {error}"]
    tests = [test for test in entries(mapping(document).get("tests")) if isinstance(test, dict)]
    if not tests:
        return [f"tailnet policy file '{acl.name}' has no tests section"]
    problems = []
    if not any(test.get("accept") for test in tests):
        problems.append(f"tailnet policy file '{acl.name}' has tests but no accept case")
    if not any(test.get("deny") for test in tests):
        problems.append(f"tailnet policy file '{acl.name}' has tests but no deny case")
    return problems


def _validate_acl_owner(args: StackValidationArgs, report: ReportViolation) -> None:
    owner = str(setting(args.get_config(), "aclOwnerStack", DEFAULT_ACL_OWNER_STACK))
    stack = stack_name(args.resources)
    acls = [resource for resource in args.resources if resource.resource_type == TAILNET_ACL]
    if stack != owner:
        for acl in acls:
            report(
                f"stack '{stack}' declares the tailnet policy file '{acl.name}'; only stack '{owner}' may.",
                acl.urn,
            )
        return
    if not acls:
        report(f"stack '{owner}' owns the tailnet policy file but declares no tailscale.Acl.", None)
    if len(acls) > 1:
        names = ", ".join(acl.name for acl in acls)
        report(f"stack '{owner}' declares {len(acls)} tailnet policy files ({names}); declare one.", None)
    for acl in acls:
        for problem in _policy_file_problems(acl):
            report(problem + ".", acl.urn)


ACL_OWNERSHIP: Final = StackValidationPolicy(
    name="tailnet-policy-owned-by-one-stack-with-tests",
    description=(
        "Exactly one stack (aclOwnerStack, prod) owns the tailnet policy file, and the file has a "
        "tests section with accept and deny cases. Each stack is checked on its own: the owner stack "
        "declares one tailscale.Acl, every other stack declares none. Fix: set the tailnet 'owns the "
        "policy' key only in the owner's stack file, and add tests cases for every rule."
    ),
    validate=_validate_acl_owner,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=ACL_OWNER_SCHEMA,
)

TAILNET_POLICIES: Final = [TAILNET_KEYS, ACL_OWNERSHIP]
