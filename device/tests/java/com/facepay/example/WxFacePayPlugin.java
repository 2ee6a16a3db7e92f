package com.facepay.example;

// The uni-app native plugin of device/README.md, verbatim between the markers: it must
// compile against the Java API (the JVM suite compiles every file here).

import com.alibaba.fastjson.JSONObject;
import com.facepay.device.BackendReply;
import com.facepay.device.BackendRequest;
import com.facepay.device.FacePayBackend;
import com.facepay.device.FacePayListener;
import com.facepay.device.WxFacePay;
import io.dcloud.feature.uniapp.annotation.UniJSMethod;
import io.dcloud.feature.uniapp.bridge.UniJSCallback;
import io.dcloud.feature.uniapp.common.UniModule;
import java.util.HashMap;
import java.util.Map;

class MyMerchantBackend implements FacePayBackend {
    @Override
    public void execute(BackendRequest request, BackendReply reply) {}
}

class MyListener implements FacePayListener {
    @Override
    public void onNotice(String kind, Map<String, String> fields) {}
}

// README:BEGIN uni-app
public class WxFacePayPlugin extends UniModule {
    private static final String[] MERCHANT_KEYS = {"appid", "mch_id", "sub_appid", "sub_mch_id", "store_id"};
    private WxFacePay pay;

    @UniJSMethod(uiThread = false)
    public void initWxpayface(JSONObject params, UniJSCallback cb) {   // com.alibaba.fastjson.JSONObject is a Map
        if (pay == null) {
            // The config takes the merchant identity (and session options), not init's proxy keys.
            Map<String, Object> config = new HashMap<>();
            for (String k : MERCHANT_KEYS) {
                if (params.containsKey(k)) config.put(k, params.get(k));
            }
            pay = new WxFacePay(mUniSDKInstance.getContext(), config, new MyMerchantBackend(), new MyListener());
        }
        pay.initWxpayface(params, ret -> cb.invoke(new JSONObject(ret)));
    }

    @UniJSMethod(uiThread = false)
    public void micropay(JSONObject params, UniJSCallback cb) { pay.micropay(params, ret -> cb.invoke(new JSONObject(ret))); }
    // ... the other eight the same way
}
// README:END uni-app
