package org.edgelabkit.demo.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;

import org.junit.Test;

/** The training screen's data contract and batching (deterministic, every epoch a permutation). */
public class TrainingSetTest {
    private static String manifest(int count, int batch) {
        return "{\"training\": {\"program\": \"training/head_training.pte\", \"program_bytes\": 100, "
                + "\"features\": \"training/backbone_features.pte\", \"features_bytes\": 200, "
                + "\"images\": \"training/digits.rgb\", \"labels\": \"training/digits_labels.u8\", "
                + "\"preprocess\": \"training/preprocess.json\", \"count\": " + count + ", \"height\": 8, \"width\": 8, "
                + "\"batch\": " + batch + ", \"feature_dim\": 1280, \"num_classes\": 10, \"steps\": 7, \"lr\": 0.05}}";
    }

    @Test
    public void batchesCoverEachEpochOnceAndRepeat() {
        TrainingSet set = TrainingSet.fromManifest(manifest(10, 4));
        int[][] batches = set.batches(6);
        assertEquals(7, batches.length);
        int[] epoch = new int[8];
        System.arraycopy(batches[0], 0, epoch, 0, 4);
        System.arraycopy(batches[1], 0, epoch, 4, 4);
        int[] sorted = epoch.clone();
        Arrays.sort(sorted);
        for (int i = 1; i < sorted.length; i++) {
            assertTrue("an index twice within one epoch", sorted[i] != sorted[i - 1]);
        }
        assertArrayEquals("the same seed gives the same batches", batches[3], set.batches(6)[3]);
    }

    @Test
    public void filesOfTheWrongSizeAreRefused() {
        TrainingSet set = TrainingSet.fromManifest(manifest(10, 4));
        byte[] labels = new byte[10];
        labels[3] = 9;
        assertEquals(9L, set.labels(new byte[10 * 8 * 8 * 3], labels)[3]);
        try {
            set.labels(new byte[10 * 8 * 8 * 3 - 1], labels);
            fail("a truncated image file");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("export again"));
        }
        labels[0] = 10;
        try {
            set.labels(new byte[10 * 8 * 8 * 3], labels);
            fail("label 10 of 10 classes");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("not below 10"));
        }
    }

    @Test(expected = IllegalArgumentException.class)
    public void fewerImagesThanOneBatchIsAnError() {
        TrainingSet.fromManifest(manifest(3, 4));
    }

    @Test
    public void aManifestWithoutTrainingSaysWhatToRun() {
        try {
            TrainingSet.fromManifest("{}");
            fail("no training object");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("run lab 07"));
        }
    }
}
