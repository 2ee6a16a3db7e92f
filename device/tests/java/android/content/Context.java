package android.content;

/** Minimal stand-in for Android's Context (desktop tests only). */
public class Context {}
