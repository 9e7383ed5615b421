package org.edgelabkit.demo.core;

/**
 * The labs' preprocessing, step for step as in {@code labkit/model/preprocessing.py}: RGB pixels → float32
 * C × H × W in [0, 255] → resize the short side (bilinear, half-pixel centres, antialiased, computed as
 * PyTorch's {@code interpolate(..., antialias=True)} does: width first, then height, in float32) →
 * centre crop → scale and normalize → 1 × 3 × crop × crop, NCHW. The unit tests compare it with tensors
 * the Python side computed for the same photos.
 */
public final class Preprocessor {
    private final PreprocessSpec spec;

    public Preprocessor(PreprocessSpec spec) {
        this.spec = spec;
    }

    /** The tensor shape {@link #fromArgb} and {@link #fromRgb} produce: 1 × 3 × crop × crop. */
    public long[] inputShape() {
        return spec.inputShape();
    }

    /** From Android's {@code Bitmap.getPixels} layout: one ARGB int per pixel, row by row (alpha ignored). */
    public float[] fromArgb(int[] argb, int width, int height) {
        checkSize(argb.length, width, height, 1);
        int plane = width * height;
        float[] chw = new float[3 * plane];
        for (int i = 0; i < plane; i++) {
            int p = argb[i];
            chw[i] = (p >> 16) & 0xff;
            chw[plane + i] = (p >> 8) & 0xff;
            chw[2 * plane + i] = p & 0xff;
        }
        return fromChw(chw, width, height);
    }

    /** From packed RGB bytes, height × width × 3 (the golden files' layout, as PIL decodes). */
    public float[] fromRgb(byte[] rgb, int width, int height) {
        checkSize(rgb.length, width, height, 3);
        int plane = width * height;
        float[] chw = new float[3 * plane];
        for (int i = 0; i < plane; i++) {
            for (int c = 0; c < 3; c++) {
                chw[c * plane + i] = rgb[3 * i + c] & 0xff;
            }
        }
        return fromChw(chw, width, height);
    }

    private static void checkSize(int length, int width, int height, int perPixel) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image is " + width + " × " + height + ": nothing to classify");
        }
        if ((long) width * height * perPixel != length) {
            throw new IllegalArgumentException("pixel buffer has " + length + " values, a " + width + " × " + height
                    + " image needs " + ((long) width * height * perPixel));
        }
    }

    private float[] fromChw(float[] chw, int width, int height) {
        int[] size = resizedSize(height, width, spec.resizeShortSide);
        float[] resized = resize(chw, 3, height, width, size[0], size[1]);
        int[] offsets = cropOffsets(size[0], size[1], spec.cropSize);
        int crop = spec.cropSize;
        float[] out = new float[3 * crop * crop];
        for (int c = 0; c < 3; c++) {
            float scaleMean = spec.mean[c];
            float std = spec.std[c];
            for (int y = 0; y < crop; y++) {
                int src = c * size[0] * size[1] + (y + offsets[0]) * size[1] + offsets[1];
                int dst = (c * crop + y) * crop;
                for (int x = 0; x < crop; x++) {
                    out[dst + x] = (resized[src + x] * spec.valueScale - scaleMean) / std;
                }
            }
        }
        return out;
    }

    /** (height, width) after resizing the short side to {@code shortSide}; the long side is truncated. */
    public static int[] resizedSize(int height, int width, int shortSide) {
        if (height <= width) {
            return new int[] {shortSide, (int) ((double) width * shortSide / height)};
        }
        return new int[] {(int) ((double) height * shortSide / width), shortSide};
    }

    /** (top, left) of the centred crop; Python's round() rounds halves to even, as Math.rint does. */
    public static int[] cropOffsets(int height, int width, int crop) {
        if (height < crop || width < crop) {
            throw new IllegalArgumentException("cannot centre-crop " + crop + " × " + crop + " from " + height + " × " + width);
        }
        return new int[] {(int) Math.rint((height - crop) / 2.0), (int) Math.rint((width - crop) / 2.0)};
    }

    /** Separable antialiased bilinear resize of a C × H × W float image: width first, then height. */
    static float[] resize(float[] chw, int channels, int inH, int inW, int outH, int outW) {
        float[] current = chw;
        int w = inW;
        if (outW != inW) {
            Weights weights = new Weights(inW, outW);
            float[] next = new float[channels * inH * outW];
            for (int row = 0; row < channels * inH; row++) {
                weights.apply(current, row * inW, 1, next, row * outW, 1);
            }
            current = next;
            w = outW;
        }
        if (outH != inH) {
            Weights weights = new Weights(inH, outH);
            float[] next = new float[channels * outH * w];
            for (int c = 0; c < channels; c++) {
                for (int x = 0; x < w; x++) {
                    weights.apply(current, c * inH * w + x, w, next, c * outH * w + x, w);
                }
            }
            current = next;
        }
        return current;
    }

    /** Per output index: first input index, count, and normalized triangle-filter weights (float32). */
    static final class Weights {
        final int[] start;
        final int[] count;
        final float[][] weights;

        Weights(int inSize, int outSize) {
            float scale = (float) inSize / (float) outSize;
            float support = scale >= 1.0f ? (float) (1.0 * scale) : 1.0f;
            float invscale = scale >= 1.0f ? (float) (1.0 / scale) : 1.0f;
            int maxSize = (int) Math.ceil(support) * 2 + 1;
            start = new int[outSize];
            count = new int[outSize];
            weights = new float[outSize][];
            for (int i = 0; i < outSize; i++) {
                float center = (float) (scale * (i + 0.5));
                long xmin = Math.max((long) ((double) (center - support) + 0.5), 0L);
                long xsize = Math.min((long) ((double) (center + support) + 0.5), inSize) - xmin;
                xsize = Math.max(0, Math.min(xsize, maxSize));
                float[] w = new float[(int) xsize];
                float total = 0f;
                for (int j = 0; j < xsize; j++) {
                    double x = (double) ((float) (j + xmin) - center) + 0.5;  // int64 − float is float in C++
                    w[j] = triangle((float) (x * invscale));
                    total += w[j];
                }
                if (total != 0f) {
                    for (int j = 0; j < xsize; j++) {
                        w[j] /= total;
                    }
                }
                start[i] = (int) xmin;
                count[i] = (int) xsize;
                weights[i] = w;
            }
        }

        private static float triangle(float x) {
            if (x < 0f) {
                x = -x;
            }
            return x < 1f ? 1f - x : 0f;
        }

        void apply(float[] src, int srcOffset, int srcStride, float[] dst, int dstOffset, int dstStride) {
            for (int i = 0; i < start.length; i++) {
                float[] w = weights[i];
                int base = srcOffset + start[i] * srcStride;
                float t = w.length > 0 ? src[base] * w[0] : 0f;
                for (int j = 1; j < w.length; j++) {
                    t += src[base + j * srcStride] * w[j];
                }
                dst[dstOffset + i * dstStride] = t;
            }
        }
    }
}
