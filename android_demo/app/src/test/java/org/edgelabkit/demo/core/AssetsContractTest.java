package org.edgelabkit.demo.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import org.junit.Test;

/** manifest.json, preprocess.json, labels.txt and the error-code table as the export writes them. */
public class AssetsContractTest {
    @Test
    public void manifestFitsThisAppsRuntimeAndPreprocessing() throws IOException {
        ModelManifest manifest = ModelManifest.fromJson(Golden.text("manifest.json"));
        manifest.checkRuntime(Versions.EXECUTORCH);
        PreprocessSpec spec = PreprocessSpec.fromJson(Golden.text("preprocess.json"));
        manifest.checkInput(spec);
        assertArrayEquals(new long[] {1, 3, 224, 224}, manifest.inputShape);
        assertNotNull(manifest.model("fp32"));
        assertEquals(1000, Labels.parse(Golden.text("labels.txt"), manifest.numClasses).size());
    }

    @Test
    public void anotherRuntimeVersionIsRefusedWithWhatToDo() throws IOException {
        ModelManifest manifest = ModelManifest.fromJson(Golden.text("manifest.json"));
        try {
            manifest.checkRuntime("0.7.0");
            fail("a model from another executorch version must be refused");
        } catch (IllegalStateException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("export again"));
        }
    }

    @Test
    public void specsThisAppCannotFollowAreRefused() throws IOException {
        String good = Golden.text("preprocess.json");
        String[][] broken = {
                {"\"bilinear\"", "\"bicubic\"", "interpolation"},
                {"\"crop_size\"", "\"crop_sz\"", "does not know"},
                {"\"NCHW\"", "\"NHWC\"", "layout"},
        };
        for (String[] b : broken) {
            try {
                PreprocessSpec.fromJson(good.replace(b[0], b[1]));
                fail("accepted " + b[1]);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().contains(b[2]));
            }
        }
        try {
            PreprocessSpec.fromJson(good.substring(0, good.length() / 2));
            fail("accepted a truncated file");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("JSON error"));
        }
    }

    @Test
    public void labelsMustMatchTheModelsClasses() throws IOException {
        try {
            Labels.parse(Golden.text("labels.txt"), 10);
            fail("1000 labels for 10 classes");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("1000 lines but the model has 10"));
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    public void errorCodesAreLabkitsTable() throws IOException {
        Map<String, Object> python = Json.parseObject(Golden.text("error_codes.json"));
        assertEquals(python.size(), ErrorCodes.table().size());
        for (Map.Entry<Integer, String[]> e : ErrorCodes.table().entrySet()) {
            List<Object> entry = (List<Object>) python.get(String.format("0x%02x", e.getKey()));
            assertNotNull("labkit has no code " + e.getKey(), entry);
            assertEquals(entry.get(0), e.getValue()[0]);
            assertEquals(entry.get(1), e.getValue()[1]);
        }
        assertTrue(ErrorCodes.decode(0x23).startsWith("InvalidProgram (0x23): the file is not a valid"));
        assertTrue(ErrorCodes.decode(0x99).startsWith("Unknown (0x99)"));
    }
}
