package org.edgelabkit.demo;

import android.content.ContentResolver;
import android.content.res.AssetManager;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.graphics.Matrix;
import android.media.ExifInterface;
import android.net.Uri;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Decodes an image into ARGB pixels the way the labs' {@code load_rgb} does: full resolution (no
 * decoder downscaling), 8 bits per channel, EXIF rotation applied, alpha ignored.
 */
final class Images {
    /** Decoded pixels: width × height ARGB ints, row by row, and the bitmap for display. */
    static final class Pixels {
        final int[] argb;
        final int width;
        final int height;
        final Bitmap bitmap;

        Pixels(Bitmap bitmap) {
            this.bitmap = bitmap;
            this.width = bitmap.getWidth();
            this.height = bitmap.getHeight();
            this.argb = new int[width * height];
            bitmap.getPixels(argb, 0, width, 0, 0, width, height);
        }
    }

    private Images() {
    }

    static Pixels fromAsset(AssetManager assets, String name) throws IOException {
        try (InputStream in = assets.open(name)) {
            return decode(Assets.readAll(in), name);
        }
    }

    static Pixels fromUri(ContentResolver resolver, Uri uri) throws IOException {
        try (InputStream in = resolver.openInputStream(uri)) {
            if (in == null) {
                throw new IOException("cannot open " + uri);
            }
            return decode(Assets.readAll(in), uri.toString());
        }
    }

    static Pixels decode(byte[] data, String what) throws IOException {
        BitmapFactory.Options options = new BitmapFactory.Options();
        options.inPreferredConfig = Bitmap.Config.ARGB_8888;
        options.inScaled = false;
        options.inPremultiplied = false;  // keep RGB of translucent pixels as stored
        Bitmap bitmap = BitmapFactory.decodeByteArray(data, 0, data.length, options);
        if (bitmap == null) {
            throw new IOException(what + " is not an image Android can decode (JPEG, PNG, WebP, …), or it is truncated");
        }
        Matrix orientation = orientation(data);
        if (orientation != null) {
            bitmap = Bitmap.createBitmap(bitmap, 0, 0, bitmap.getWidth(), bitmap.getHeight(), orientation, false);
        }
        return new Pixels(bitmap);
    }

    /** The EXIF orientation as a matrix (all eight cases, as PIL's exif_transpose), or null when upright. */
    private static Matrix orientation(byte[] data) {
        int tag;
        try {
            tag = new ExifInterface(new ByteArrayInputStream(data))
                    .getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL);
        } catch (IOException e) {
            return null;  // no readable EXIF block (PNG): nothing to turn
        }
        Matrix m = new Matrix();
        switch (tag) {
            case ExifInterface.ORIENTATION_FLIP_HORIZONTAL: m.setScale(-1, 1); break;
            case ExifInterface.ORIENTATION_ROTATE_180: m.setRotate(180); break;
            case ExifInterface.ORIENTATION_FLIP_VERTICAL: m.setScale(1, -1); break;
            case ExifInterface.ORIENTATION_TRANSPOSE: m.setRotate(90); m.postScale(-1, 1); break;
            case ExifInterface.ORIENTATION_ROTATE_90: m.setRotate(90); break;
            case ExifInterface.ORIENTATION_TRANSVERSE: m.setRotate(-90); m.postScale(-1, 1); break;
            case ExifInterface.ORIENTATION_ROTATE_270: m.setRotate(-90); break;
            default: return null;
        }
        return m;
    }
}
