package org.edgelabkit.demo;

import android.content.Context;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Reading the exported assets; ExecuTorch loads programs from files, so those are copied to filesDir first. */
final class Assets {
    private Assets() {
    }

    static String readText(Context context, String name) throws IOException {
        return new String(readBytes(context, name), StandardCharsets.UTF_8);
    }

    static byte[] readBytes(Context context, String name) throws IOException {
        try (InputStream in = open(context, name)) {
            return readAll(in);
        }
    }

    static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) > 0; ) {
            out.write(buffer, 0, n);
        }
        return out.toByteArray();
    }

    static InputStream open(Context context, String name) throws IOException {
        try {
            return context.getAssets().open(name);
        } catch (FileNotFoundException e) {
            throw new FileNotFoundException("asset " + name + " is missing: run `labkit export-android` in the kit "
                    + "(android_demo/README.md), then build the app again");
        }
    }

    /**
     * Copies an asset to {@code filesDir} unless a copy of the expected size is there; returns the file.
     * A copy of another size (an interrupted copy, or a newer export) is replaced.
     */
    static File copyToFiles(Context context, String name, long expectedBytes) throws IOException {
        File target = new File(context.getFilesDir(), name.replace('/', '_'));
        if (target.isFile() && target.length() == expectedBytes) {
            return target;
        }
        File partial = new File(target.getPath() + ".partial");
        try (InputStream in = open(context, name); OutputStream out = new FileOutputStream(partial)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                out.write(buffer, 0, n);
            }
        }
        if (partial.length() != expectedBytes) {
            long got = partial.length();
            if (!partial.delete()) {
                partial.deleteOnExit();
            }
            throw new IOException("asset " + name + " is " + got + " bytes but manifest.json says " + expectedBytes
                    + ": the export was interrupted or mixed with another one; run labkit export-android again");
        }
        if (!partial.renameTo(target)) {
            throw new IOException("could not move " + partial + " to " + target);
        }
        return target;
    }
}
