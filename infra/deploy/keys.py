"""Stack config keys and stack outputs the deploy tool reads and writes.

The image digest key is the one the Pulumi program reads (infra/config.py): setting it and running
`pulumi up` is a release; setting it back to an earlier digest and running `pulumi up` is a rollback.
"""

from __future__ import annotations

from infra.config import PROJECT

# The app image the environment runs, `sha256:<64 hex>`: the field `imageDigest` of the stack's
# `chocolate-factory:app` object (infra/config.py, AppConfig.image_digest), set as a path key.
IMAGE_DIGEST_KEY = f"{PROJECT}:app.imageDigest"
# The digests that passed the smoke suite on this stack, oldest first, as a JSON list. Kept by the
# deploy tool in a namespace of its own, which the program's schema leaves alone. A rollback without
# --to goes to the newest one that is not running now.
GOOD_DIGESTS_KEY = f"{PROJECT}-deploy:goodDigests"
# How many good digests the history keeps; the registry must keep at least these images.
GOOD_DIGESTS_KEPT = 10

# Stack outputs: where the environment's app answers, and the digest its container runs.
URL_OUTPUT = "appUrl"
DEPLOYED_DIGEST_OUTPUT = "appImageDigest"
