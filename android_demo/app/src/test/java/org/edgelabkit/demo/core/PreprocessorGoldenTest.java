package org.edgelabkit.demo.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.util.Map;

import org.junit.Test;

/** Java preprocessing of the golden photos equals the tensors Python computed, within 1e-5. */
public class PreprocessorGoldenTest {
    private static final float TOLERANCE = 1e-5f;

    @Test
    public void everyGoldenPhotoMatchesPython() throws IOException {
        Preprocessor preprocessor = new Preprocessor(PreprocessSpec.fromJson(Golden.text("preprocess.json")));
        int checked = 0;
        for (Map<String, Object> photo : Golden.photos()) {
            String name = (String) photo.get("name");
            int width = Golden.integer(photo, "width");
            int height = Golden.integer(photo, "height");
            float[] expected = Golden.floats(name + ".input.f32");
            float[] fromRgb = preprocessor.fromRgb(Golden.bytes(name + ".rgb"), width, height);
            float diff = Golden.maxAbsDiff(fromRgb, expected);
            assertTrue(name + ": max |Java − Python| = " + diff, diff <= TOLERANCE);
            float[] fromArgb = preprocessor.fromArgb(toArgb(Golden.bytes(name + ".rgb")), width, height);
            assertArrayEquals(name + ": ARGB ints (Android's Bitmap) and RGB bytes must agree", fromRgb, fromArgb, 0f);
            checked++;
        }
        assertTrue("golden.json lists no photos", checked >= 1);
    }

    @Test
    public void upsamplingASmallDigitMatchesPython() throws IOException {
        Preprocessor preprocessor = new Preprocessor(PreprocessSpec.fromJson(Golden.text("digit_preprocess.json")));
        float[] expected = Golden.floats("digit0.input.f32");
        float[] actual = preprocessor.fromRgb(Golden.bytes("digit0.rgb"), 8, 8);
        assertEquals(3 * 96 * 96, actual.length);
        float diff = Golden.maxAbsDiff(actual, expected);
        assertTrue("digit 8×8 → 96×96: max |Java − Python| = " + diff, diff <= TOLERANCE);
    }

    @Test
    public void wrongBuffersAreRefusedWithTheReason() throws IOException {
        Preprocessor preprocessor = new Preprocessor(PreprocessSpec.fromJson(Golden.text("preprocess.json")));
        try {
            preprocessor.fromRgb(new byte[10], 2, 2);
            fail("a 2 × 2 image needs 12 bytes");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("needs 12"));
        }
        try {
            preprocessor.fromArgb(new int[0], 0, 5);
            fail("an empty image");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("nothing to classify"));
        }
    }

    @Test
    public void sizesAndOffsetsFollowPython() {
        assertArrayEquals(new int[] {256, 341}, Preprocessor.resizedSize(300, 400, 256));  // int(400 * 256 / 300) = 341
        assertArrayEquals(new int[] {455, 256}, Preprocessor.resizedSize(512, 288, 256));
        assertArrayEquals(new int[] {16, 58}, Preprocessor.cropOffsets(256, 341, 224));   // round(16.0), round(58.5) = 58
        assertArrayEquals(new int[] {2, 0}, Preprocessor.cropOffsets(229, 224, 224));     // round(2.5) = 2 (to even)
    }

    static int[] toArgb(byte[] rgb) {
        int[] out = new int[rgb.length / 3];
        for (int i = 0; i < out.length; i++) {
            out[i] = 0xff000000 | (rgb[3 * i] & 0xff) << 16 | (rgb[3 * i + 1] & 0xff) << 8 | (rgb[3 * i + 2] & 0xff);
        }
        return out;
    }
}
