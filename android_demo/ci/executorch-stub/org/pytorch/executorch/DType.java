// Signature-only stub of org.pytorch:executorch-android (version in ../VERSION), written for the kit's compile
// check: it lists only the API the app uses, with the signatures the AAR exposes to Java. Not the library.
package org.pytorch.executorch;

public enum DType {
    UINT8, INT8, INT16, INT32, INT64, HALF, FLOAT, DOUBLE, BOOL
}
