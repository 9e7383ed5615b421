"""Decode the hex error codes the ExecuTorch runtime reports (``runtime/core/error.h``)."""

from __future__ import annotations

import re

# code: (name, what it usually means for a learner)
ERROR_CODES: dict[int, tuple[str, str]] = {
    0x00: ("Ok", "no error"),
    0x01: ("Internal", "an internal runtime failure; for XNNPACK often an input whose shape or layout does not match the export"),
    0x02: ("InvalidState", "the method or program is in a state that does not allow this call"),
    0x03: ("EndOfMethod", "the method has finished executing"),
    0x04: ("AlreadyLoaded", "this was loaded already"),
    0x10: ("NotSupported", "an input has the wrong shape (or exceeds a dynamic dimension's bounds)"),
    0x11: ("NotImplemented", "the operation is not implemented in this runtime build"),
    0x12: ("InvalidArgument", "an input has the wrong dtype or is not a tensor, or the file is empty"),
    0x13: ("InvalidType", "a value has an unexpected type"),
    0x14: ("OperatorMissing", "the program uses an operator this runtime has no kernel for"),
    0x15: ("RegistrationExceedingMaxKernels", "too many kernels registered"),
    0x16: ("RegistrationAlreadyRegistered", "a kernel was registered twice"),
    0x20: ("NotFound", "a requested method or resource does not exist"),
    0x21: ("MemoryAllocationFailed", "the runtime could not allocate memory"),
    0x22: ("AccessFailed", "the file could not be opened or read (missing file or no permission)"),
    0x23: ("InvalidProgram", "the file is not a valid ExecuTorch program: truncated, corrupt or another format"),
    0x24: ("InvalidExternalData", "external weights (.ptd) are missing or do not match the program"),
    0x25: ("OutOfResources", "the runtime ran out of a resource"),
    0x30: ("DelegateInvalidCompatibility",
           "the delegate blob was made for another backend version: re-export with this executorch"),
    0x31: ("DelegateMemoryAllocationFailed", "the delegate could not allocate memory"),
    0x32: ("DelegateInvalidHandle", "the delegate handle is invalid"),
}

_CODE_PATTERN = re.compile(r"(?:error|Error)[:\s]*0x:?\s*([0-9a-fA-F]+)")


def decode(code: int) -> str:
    """``0x23`` → ``"InvalidProgram (0x23): the file is not a valid ExecuTorch program: …"``."""
    name, meaning = ERROR_CODES.get(code, ("Unknown", "not an error code of this executorch version"))
    return f"{name} (0x{code:02x}): {meaning}"


def code_in_message(message: str) -> int | None:
    """The error code inside a runtime message such as ``failed with error 0x10`` or ``error: 0x:23``."""
    match = _CODE_PATTERN.search(message)
    return int(match.group(1), 16) if match else None
