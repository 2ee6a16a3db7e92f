package com.tencent.wxpayface;

import android.os.RemoteException;
import java.util.Map;

/** Stand-in with the AAR's shape: an abstract class (a Binder stub in the real SDK). */
public abstract class IWxPayfaceCallback {
    @SuppressWarnings("rawtypes")
    public abstract void response(Map info) throws RemoteException;
}
