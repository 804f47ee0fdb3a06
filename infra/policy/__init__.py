"""The platform's policy pack.

`__main__.py` builds the `PolicyPack` (which serves gRPC and blocks); the policies live in
`platform_policies`, which tests import without starting the pack.
"""
