"""Pre-submission checks for a vendor's PRODUCT.yaml (``kubectl aiconf validate``).

Entry point: :func:`kubectl_aiconf.submission.validate.run_validate`. Submodules are imported
lazily by it so that loading this package costs nothing.
"""


class UsageError(Exception):
    """The command was called wrongly (unreadable file, unknown option value): exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
