package com.facepay.device;

import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * The default {@link FacePayJournal}: one file, replaced atomically. A write goes to
 * {@code <file>.tmp} in the same directory, is fsynced ({@code FileOutputStream.getFD().sync()}),
 * then renamed over the file ({@code Files.move(ATOMIC_MOVE, REPLACE_EXISTING)}, or
 * {@code File.renameTo}, which is rename(2), before Android 8), and the directory is fsynced
 * where the platform allows it (best effort). The file therefore always holds a complete
 * record or none.
 *
 * <p>A power loss between the temp write and the rename leaves a stray temp file: its
 * record never took effect (the session had not gone on to the next step), so
 * {@link #read} ignores and deletes it.
 */
public final class FileJournal implements FacePayJournal {
    /** Larger than any record this library writes (64 bytes); a bigger file is damage. */
    private static final int MAX_BYTES = 4096;

    private final File file;
    private final File temp;

    public FileJournal(File file) {
        this.file = file.getAbsoluteFile();
        this.temp = new File(this.file.getParentFile(), this.file.getName() + ".tmp");
    }

    /** The journal file. */
    public File file() {
        return file;
    }

    @Override
    public byte[] read() throws IOException {
        if (temp.exists()) {
            // Best effort: the next write truncates it anyway.
            temp.delete();
        }
        if (!file.exists()) {
            return null;
        }
        try (InputStream in = new FileInputStream(file)) {
            byte[] buf = new byte[MAX_BYTES];
            int n = 0;
            int r;
            while (n < buf.length && (r = in.read(buf, n, buf.length - n)) > 0) {
                n += r;
            }
            return Arrays.copyOf(buf, n);
        }
    }

    @Override
    public void write(byte[] record) throws IOException {
        File dir = file.getParentFile();
        if (dir != null && !dir.isDirectory() && !dir.mkdirs() && !dir.isDirectory()) {
            throw new IOException("cannot create " + dir);
        }
        try (FileOutputStream out = new FileOutputStream(temp)) {
            out.write(record);
            out.flush();
            out.getFD().sync();
        }
        move(temp, file);
        syncDirectory(dir);
    }

    @Override
    public void clear() throws IOException {
        boolean existed = file.exists();
        if (existed && !file.delete() && file.exists()) {
            throw new IOException("cannot delete " + file);
        }
        if (temp.exists()) {
            temp.delete();
        }
        if (existed) {
            syncDirectory(file.getParentFile());
        }
    }

    private static void move(File from, File to) throws IOException {
        try {
            Nio.move(from, to);
            return;
        } catch (LinkageError noNio) {
            // Android before 8.0 (API 26) has no java.nio.file: rename(2) is atomic too.
        }
        if (!from.renameTo(to)) {
            throw new IOException("cannot rename " + from + " to " + to);
        }
    }

    private static void syncDirectory(File dir) {
        if (dir == null) {
            return;
        }
        try {
            Nio.syncDirectory(dir);
        } catch (IOException | RuntimeException | LinkageError notSupported) {
            // Best effort: some platforms cannot open a directory for fsync.
        }
    }

    /** java.nio.file, kept apart so that a platform without it only fails here. */
    private static final class Nio {
        static void move(File from, File to) throws IOException {
            java.nio.file.Files.move(from.toPath(), to.toPath(),
                java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }

        static void syncDirectory(File dir) throws IOException {
            try (java.nio.channels.FileChannel ch =
                    java.nio.channels.FileChannel.open(dir.toPath(), java.nio.file.StandardOpenOption.READ)) {
                ch.force(true);
            }
        }
    }
}
