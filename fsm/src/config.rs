//! What the cashier app gives the machine: SDK init settings, the merchant's identity, an
//! order, a membership lookup. Empty optional strings mean "absent", as on the wire (the v2
//! signature covers only non-empty parameters).

use crate::text::{
    AppId, Credential, Field, FieldError, Host, MchId, OpenId, OutTradeNo, PortText, ScreenIndex, StoreId, Telephone,
};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident ($field:expr) { $($(#[$vm:meta])* $variant:ident = $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub enum $name { $($(#[$vm])* #[cfg_attr(feature = "serde", serde(rename = $wire))] $variant,)* }
        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// The wire string.
            pub const fn as_str(self) -> &'static str { match self { $($name::$variant => $wire,)* } }
            /// Parses the wire string; anything else is [`FieldError::Malformed`].
            pub fn parse(wire: &str) -> Result<Self, FieldError> {
                match wire { $($wire => Ok($name::$variant),)* _ => Err(FieldError::Malformed { field: $field }) }
            }
        }
    };
}

wire_enum! {
    /// `proxy_type` of `initWxpayface` (v2.12+).
    ProxyType(Field::ProxyType) {
        /// 0: no proxy.
        None = "0",
        /// 1: HTTP tunnel.
        HttpTunnel = "1",
        /// 2: SOCKS5.
        Socks5 = "2",
        /// 3: HTTP.
        Http = "3",
    }
}

wire_enum! {
    /// `perform_mode` of `initWxpayface` (v2.13+).
    PerformMode(Field::PerformMode) {
        /// The default (the SDK spells it `NORMAL_PRFORM`).
        Normal = "NORMAL_PRFORM",
        /// For low-end hardware.
        Low = "LOW_PERFORM",
    }
}

wire_enum! {
    /// `face_code_type`: which backend API pays the face_code.
    FaceCodeType(Field::FaceCodeType) {
        /// "0": a 人脸付款码 paid through facepay / facepayquery / facepayreverse.
        Facepay = "0",
        /// "1": an 18-digit 刷卡付款码 paid through micropay / orderquery / reverse.
        Micropay = "1",
    }
}

wire_enum! {
    /// `face_authtype` of `getWxpayfaceCode` and `getWxpayfaceUserInfo`.
    FaceAuthType(Field::FaceAuthtype) {
        /// 人脸凭证, for payment.
        Facepay = "FACEPAY",
        /// 延迟支付 (WeChat must enable it).
        FacepayDelay = "FACEPAY_DELAY",
        /// 实名认证; returns face_sid.
        FaceAuth = "FACE_AUTH",
        /// Membership lookup, one recognition.
        FaceidOnce = "FACEID-ONCE",
        /// Membership lookup, continuous recognition.
        FaceidLoop = "FACEID-LOOP",
    }
}

/// `initWxpayface` settings (docs/protocol.md §init-params): an optional proxy and a performance mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct InitParams {
    /// `ip`: HTTP proxy IP or domain.
    pub ip: Host,
    /// `port`: HTTP proxy port (decimal digits).
    pub port: PortText,
    /// `user`: proxy user name.
    pub user: Credential,
    /// `passwd`: proxy password.
    pub passwd: Credential,
    /// `proxy_type` (v2.12+); `None` leaves the key out.
    pub proxy_type: Option<ProxyType>,
    /// `tcp_port`: TCP proxy port if it differs from `port` (v2.12+).
    pub tcp_port: PortText,
    /// `perform_mode` (v2.13+); `None` leaves the key out.
    pub perform_mode: Option<PerformMode>,
}

impl InitParams {
    /// Checks the documented forms: ports are 1–65535 in decimal; a proxy type other than
    /// none needs an `ip` and a `port`.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (field, port) in [(Field::Port, &self.port), (Field::TcpPort, &self.tcp_port)] {
            if !port.is_empty() && !is_port(port) {
                return Err(FieldError::Malformed { field });
            }
        }
        if matches!(self.proxy_type, Some(t) if t != ProxyType::None) {
            if self.ip.is_empty() {
                return Err(FieldError::Empty { field: Field::Ip });
            }
            if self.port.is_empty() {
                return Err(FieldError::Empty { field: Field::Port });
            }
        }
        Ok(())
    }
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()) && matches!(s.parse::<u32>(), Ok(1..=65535))
}

/// The merchant identity the SDK calls carry. The backend calls are signed by the
/// merchant's server, which adds its own identity; the machine never holds an API key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Merchant {
    /// `appid` (required).
    pub appid: AppId,
    /// `mch_id` (required).
    pub mch_id: MchId,
    /// `sub_appid` (service-provider mode only).
    pub sub_appid: AppId,
    /// `sub_mch_id` (service-provider mode only).
    pub sub_mch_id: MchId,
    /// `store_id`.
    pub store_id: StoreId,
}

impl Merchant {
    /// `appid` and `mch_id` are required.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.appid.is_empty() {
            return Err(FieldError::Empty { field: Field::Appid });
        }
        if self.mch_id.is_empty() {
            return Err(FieldError::Empty { field: Field::MchId });
        }
        Ok(())
    }
}

/// One order for the cashier's `StartOrder`: the keys of `getWxpayfaceCode` that vary per
/// order (docs/protocol.md §face-code-request). The machine adds the merchant identity and the cached authinfo.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OrderRequest {
    /// `out_trade_no`: unique per order; the same one goes to the payment API.
    pub out_trade_no: OutTradeNo,
    /// `total_fee` in fen (1 CNY = 100 fen); must be positive.
    pub total_fee: u32,
    /// Which backend API pays the face_code.
    pub face_code_type: FaceCodeType,
    /// `face_authtype`: `FACEPAY` for a payment (or `FACEPAY_DELAY` if enabled).
    pub face_authtype: FaceAuthType,
    /// `telephone`: pre-fills the member phone number (optional).
    pub telephone: Telephone,
    /// `openid` of a known member (optional; the APICloud module passes it).
    pub openid: OpenId,
    /// `ask_face_permit`: show the face-recognition authorisation item ("1").
    pub ask_face_permit: bool,
    /// `ask_ret_page`: show the WeChat Pay success page ("1").
    pub ask_ret_page: bool,
    /// `ignore_update_pay_result`: "1" when the terminal will not report the pay result.
    pub ignore_update_pay_result: bool,
    /// `screen_index` (optional; multi-screen terminals).
    pub screen_index: ScreenIndex,
    /// `time_start`: the host's wall-clock time when the order was taken (optional). A
    /// query's SUCCESS whose `time_end` is earlier belongs to an older order under the
    /// same out_trade_no, and is not concluded Paid.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub time_start: Option<crate::wxtime::WxTime>,
}

impl OrderRequest {
    /// A face-pay order with the common defaults: `FACEPAY`, no telephone, the success
    /// page shown, the pay result reported.
    pub fn new(out_trade_no: OutTradeNo, total_fee: u32, face_code_type: FaceCodeType) -> Self {
        OrderRequest {
            out_trade_no,
            total_fee,
            face_code_type,
            face_authtype: FaceAuthType::Facepay,
            telephone: Telephone::empty(),
            openid: OpenId::empty(),
            ask_face_permit: false,
            ask_ret_page: true,
            ignore_update_pay_result: false,
            screen_index: ScreenIndex::empty(),
            time_start: None,
        }
    }

    /// `out_trade_no` must be non-empty and `total_fee` positive; the auth type must be a
    /// payment one.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.out_trade_no.is_empty() {
            return Err(FieldError::Empty {
                field: Field::OutTradeNo,
            });
        }
        if self.total_fee == 0 {
            return Err(FieldError::Malformed { field: Field::TotalFee });
        }
        if !matches!(self.face_authtype, FaceAuthType::Facepay | FaceAuthType::FacepayDelay) {
            return Err(FieldError::Malformed {
                field: Field::FaceAuthtype,
            });
        }
        Ok(())
    }
}

/// A membership lookup (`getWxpayfaceUserInfo`): no money involved.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UserInfoRequest {
    /// `FACEID-ONCE` or `FACEID-LOOP`.
    pub face_authtype: FaceAuthType,
    /// `auth_mode`: "1" jumps to the authorisation page.
    pub auth_mode_jump: bool,
    /// `ask_unionid` (semantics undocumented; passed through).
    pub ask_unionid: bool,
    /// `screen_index` (optional).
    pub screen_index: ScreenIndex,
}

impl UserInfoRequest {
    /// The auth type must be a membership one.
    pub fn validate(&self) -> Result<(), FieldError> {
        if matches!(self.face_authtype, FaceAuthType::FaceidOnce | FaceAuthType::FaceidLoop) {
            Ok(())
        } else {
            Err(FieldError::Malformed {
                field: Field::FaceAuthtype,
            })
        }
    }
}
