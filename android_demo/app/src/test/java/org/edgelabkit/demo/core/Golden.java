package org.edgelabkit.demo.core;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

/** The golden files `labkit export-android` writes (folder from the system property golden.dir). */
final class Golden {
    private Golden() {
    }

    static File dir() {
        String path = System.getProperty("golden.dir");
        if (path == null || !new File(path, "golden.json").isFile()) {
            throw new IllegalStateException("no golden files at " + path + ": run `labkit export-android` in the kit first");
        }
        return new File(path);
    }

    static byte[] bytes(String name) throws IOException {
        return Files.readAllBytes(new File(dir(), name).toPath());
    }

    static String text(String name) throws IOException {
        return new String(bytes(name), StandardCharsets.UTF_8);
    }

    static float[] floats(String name) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(bytes(name)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[buffer.remaining() / 4];
        buffer.asFloatBuffer().get(out);
        return out;
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> photos() throws IOException {
        return (List<Map<String, Object>>) Json.parseObject(text("golden.json")).get("photos");
    }

    static int integer(Map<String, Object> map, String key) {
        return ((Double) map.get(key)).intValue();
    }

    static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        float worst = 0f;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }
}
