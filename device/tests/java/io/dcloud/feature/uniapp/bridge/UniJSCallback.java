package io.dcloud.feature.uniapp.bridge;

/** Compile-time stand-in for uni-app's JS callback. */
public interface UniJSCallback {
    void invoke(Object data);
}
