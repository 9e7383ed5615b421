package org.edgelabkit.demo.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * ExecuTorch's runtime error codes ({@code runtime/core/error.h}) with what each usually means here —
 * the same table as {@code labkit/deploy/executorch_errors.py} (a unit test compares them).
 */
public final class ErrorCodes {
    private static final Map<Integer, String[]> CODES;

    static {
        Map<Integer, String[]> m = new LinkedHashMap<>();
        m.put(0x00, new String[] {"Ok", "no error"});
        m.put(0x01, new String[] {"Internal", "an internal runtime failure; for XNNPACK often an input whose shape or layout does not match the export"});
        m.put(0x02, new String[] {"InvalidState", "the method or program is in a state that does not allow this call"});
        m.put(0x03, new String[] {"EndOfMethod", "the method has finished executing"});
        m.put(0x04, new String[] {"AlreadyLoaded", "this was loaded already"});
        m.put(0x10, new String[] {"NotSupported", "an input has the wrong shape (or exceeds a dynamic dimension's bounds)"});
        m.put(0x11, new String[] {"NotImplemented", "the operation is not implemented in this runtime build"});
        m.put(0x12, new String[] {"InvalidArgument", "an input has the wrong dtype or is not a tensor, or the file is empty"});
        m.put(0x13, new String[] {"InvalidType", "a value has an unexpected type"});
        m.put(0x14, new String[] {"OperatorMissing", "the program uses an operator this runtime has no kernel for"});
        m.put(0x15, new String[] {"RegistrationExceedingMaxKernels", "too many kernels registered"});
        m.put(0x16, new String[] {"RegistrationAlreadyRegistered", "a kernel was registered twice"});
        m.put(0x20, new String[] {"NotFound", "a requested method or resource does not exist"});
        m.put(0x21, new String[] {"MemoryAllocationFailed", "the runtime could not allocate memory"});
        m.put(0x22, new String[] {"AccessFailed", "the file could not be opened or read (missing file or no permission)"});
        m.put(0x23, new String[] {"InvalidProgram", "the file is not a valid ExecuTorch program: truncated, corrupt or another format"});
        m.put(0x24, new String[] {"InvalidExternalData", "external weights (.ptd) are missing or do not match the program"});
        m.put(0x25, new String[] {"OutOfResources", "the runtime ran out of a resource"});
        m.put(0x30, new String[] {"DelegateInvalidCompatibility", "the delegate blob was made for another backend version: re-export with this executorch"});
        m.put(0x31, new String[] {"DelegateMemoryAllocationFailed", "the delegate could not allocate memory"});
        m.put(0x32, new String[] {"DelegateInvalidHandle", "the delegate handle is invalid"});
        CODES = Collections.unmodifiableMap(m);
    }

    private ErrorCodes() {
    }

    /** Every known code → {name, meaning}. */
    public static Map<Integer, String[]> table() {
        return CODES;
    }

    /** {@code 0x23} → {@code "InvalidProgram (0x23): the file is not a valid ExecuTorch program: …"}. */
    public static String decode(int code) {
        String[] entry = CODES.get(code);
        if (entry == null) {
            entry = new String[] {"Unknown", "not an error code of ExecuTorch " + Versions.EXECUTORCH};
        }
        return String.format(Locale.ROOT, "%s (0x%02x): %s", entry[0], code, entry[1]);
    }
}
