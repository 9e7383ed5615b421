package org.edgelabkit.demo.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import org.junit.Test;

/** Softmax + top-5 in Java, on the logits each .pte gave in Python's ExecuTorch runtime, equals Python's top-5. */
public class TopKGoldenTest {
    @Test
    @SuppressWarnings("unchecked")
    public void topFiveMatchesPythonForEveryPhotoAndPrecision() throws IOException {
        Labels labels = Labels.parse(Golden.text("labels.txt"), 1000);
        int compared = 0;
        for (Map<String, Object> photo : Golden.photos()) {
            Map<String, Object> top5 = (Map<String, Object>) photo.get("top5");
            for (Map.Entry<String, Object> entry : top5.entrySet()) {
                if (entry.getKey().equals("eager")) {
                    continue;  // eager PyTorch has no logits file; the .pte rows are what the phone runs
                }
                String name = photo.get("name") + "." + entry.getKey();
                List<Prediction> mine = TopK.topK(Golden.floats(name + ".logits.f32"), labels, 5);
                List<List<Double>> theirs = (List<List<Double>>) entry.getValue();
                assertEquals(name, theirs.size(), mine.size());
                for (int i = 0; i < mine.size(); i++) {
                    assertEquals(name + " rank " + i, theirs.get(i).get(0).intValue(), mine.get(i).index);
                    assertEquals(name + " rank " + i, theirs.get(i).get(1), mine.get(i).probability, 1e-5);
                }
                compared++;
            }
        }
        assertTrue("no .pte logits in the golden files", compared >= 1);
    }

    @Test
    public void softmaxIsStableAndSumsToOne() {
        double[] p = TopK.softmax(new float[] {1000f, 1000f, -1000f});
        assertEquals(0.5, p[0], 1e-12);
        assertEquals(0.5, p[1], 1e-12);
        assertEquals(0.0, p[2], 1e-12);
    }

    @Test(expected = IllegalArgumentException.class)
    public void nanLogitsAreRefused() {
        TopK.softmax(new float[] {1f, Float.NaN});
    }
}
