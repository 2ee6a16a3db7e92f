package io.dcloud.feature.uniapp;

import android.content.Context;

/** Compile-time stand-in for uni-app's SDK instance (the part the README example uses). */
public class AbsSDKInstance {
    public Context getContext() {
        return new Context();
    }
}
