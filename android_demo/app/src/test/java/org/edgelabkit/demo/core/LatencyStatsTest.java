package org.edgelabkit.demo.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class LatencyStatsTest {
    @Test
    public void theFirstCallIsKeptApart() {
        LatencyStats stats = new LatencyStats();
        assertTrue(Double.isNaN(stats.firstMs()));
        stats.add(50);
        assertTrue(Double.isNaN(stats.averageAfterFirstMs()));
        stats.add(4);
        stats.add(6);
        stats.add(20);
        assertEquals(50, stats.firstMs(), 0);
        assertEquals(10, stats.averageAfterFirstMs(), 1e-12);
        assertEquals(6, stats.medianAfterFirstMs(), 0);
    }
}
