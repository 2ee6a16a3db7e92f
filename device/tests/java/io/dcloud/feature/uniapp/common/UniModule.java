package io.dcloud.feature.uniapp.common;

import io.dcloud.feature.uniapp.AbsSDKInstance;

/** Compile-time stand-in for uni-app's native-plugin base class. */
public abstract class UniModule {
    protected AbsSDKInstance mUniSDKInstance = new AbsSDKInstance();
}
