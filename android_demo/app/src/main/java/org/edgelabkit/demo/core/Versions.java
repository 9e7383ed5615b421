package org.edgelabkit.demo.core;

/** The ExecuTorch version this app is built against (app/build.gradle.kts pins the same; a test checks). */
public final class Versions {
    /** org.pytorch:executorch-android, equal to the pip package executorch that exports the models. */
    public static final String EXECUTORCH = "1.5.1";

    private Versions() {
    }
}
