//! Bounded text fields: every identifier the protocol carries, with a documented capacity.
//!
//! A value longer than its capacity is a typed [`FieldError`], never silently cut: a
//! truncated `out_trade_no` or `authinfo` would name another order or fail signature checks.

use core::fmt;

use heapless::LenType;

/// Which protocol field a [`Text`] holds; named in errors so the host can say what was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[allow(missing_docs)] // each variant is the wire key of the same name
pub enum Field {
    Appid,
    MchId,
    SubAppid,
    SubMchId,
    StoreId,
    OutTradeNo,
    TotalFee,
    FaceCode,
    AuthCode,
    Authinfo,
    Rawdata,
    Openid,
    SubOpenid,
    Nickname,
    Telephone,
    TransactionId,
    ReturnMsg,
    ErrCode,
    ReturnCode,
    ResultCode,
    TradeState,
    Recall,
    FaceCodeType,
    FaceAuthtype,
    ScreenIndex,
    Ip,
    Port,
    User,
    Passwd,
    ProxyType,
    TcpPort,
    PerformMode,
    ExpiresIn,
    UnderageState,
    TelephoneUsed,
    FaceSid,
    CodeMsg,
    AskUnionid,
    AuthMode,
    AskFacePermit,
    AskRetPage,
    IgnoreUpdatePayResult,
    Payresult,
    // `time_start` (pay request) and `time_end` (paid order): `yyyyMMddHHmmss`.
    TimeStart,
    TimeEnd,
}

impl Field {
    /// The wire key exactly as the SDK or the backend spells it.
    pub const fn key(self) -> &'static str {
        match self {
            Field::Appid => "appid",
            Field::MchId => "mch_id",
            Field::SubAppid => "sub_appid",
            Field::SubMchId => "sub_mch_id",
            Field::StoreId => "store_id",
            Field::OutTradeNo => "out_trade_no",
            Field::TotalFee => "total_fee",
            Field::FaceCode => "face_code",
            Field::AuthCode => "auth_code",
            Field::Authinfo => "authinfo",
            Field::Rawdata => "rawdata",
            Field::Openid => "openid",
            Field::SubOpenid => "sub_openid",
            Field::Nickname => "nickname",
            Field::Telephone => "telephone",
            Field::TransactionId => "transaction_id",
            Field::ReturnMsg => "return_msg",
            Field::ErrCode => "err_code",
            Field::ReturnCode => "return_code",
            Field::ResultCode => "result_code",
            Field::TradeState => "trade_state",
            Field::Recall => "recall",
            Field::FaceCodeType => "face_code_type",
            Field::FaceAuthtype => "face_authtype",
            Field::ScreenIndex => "screen_index",
            Field::Ip => "ip",
            Field::Port => "port",
            Field::User => "user",
            Field::Passwd => "passwd",
            Field::ProxyType => "proxy_type",
            Field::TcpPort => "tcp_port",
            Field::PerformMode => "perform_mode",
            Field::ExpiresIn => "expires_in",
            Field::UnderageState => "underage_state",
            Field::TelephoneUsed => "telephone_used",
            Field::FaceSid => "face_sid",
            Field::CodeMsg => "code_msg",
            Field::AskUnionid => "ask_unionid",
            Field::AuthMode => "auth_mode",
            Field::AskFacePermit => "ask_face_permit",
            Field::AskRetPage => "ask_ret_page",
            Field::IgnoreUpdatePayResult => "ignore_update_pay_result",
            Field::Payresult => "payresult",
            Field::TimeStart => "time_start",
            Field::TimeEnd => "time_end",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A field value the machine cannot accept. The caller must reject the input that carried
/// it (or, for an SDK or backend answer, report it as an unreadable answer event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum FieldError {
    /// `len` bytes do not fit the field's capacity of `cap` bytes.
    TooLong {
        /// The field.
        field: Field,
        /// The value's length in bytes (UTF-8).
        len: u32,
        /// The capacity in bytes.
        cap: u32,
    },
    /// A required field was empty.
    Empty {
        /// The field.
        field: Field,
    },
    /// The value does not have the documented form (digits, a known enumeration value, ...).
    Malformed {
        /// The field.
        field: Field,
    },
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::TooLong { field, len, cap } => {
                write!(f, "`{field}` is {len} bytes, over its capacity of {cap}")
            }
            FieldError::Empty { field } => write!(f, "`{field}` is required but empty"),
            FieldError::Malformed { field } => write!(f, "`{field}` does not have the documented form"),
        }
    }
}

impl core::error::Error for FieldError {}

/// A UTF-8 string of at most `N` bytes, stored inline (no heap). `L` is the type of its
/// length: `u8` for fields under 256 bytes, `u16` above, to keep the session small.
///
/// Build one with [`Text::new`], which names the field in its error, or with `str::parse`
/// / `TryFrom<&str>` where the field is plain from the context:
///
/// ```
/// use facepay_fsm::{AppId, MchId, Merchant, OutTradeNo};
/// let merchant = Merchant {
///     appid: "wx2421b1c4370ec43b".parse()?,
///     mch_id: MchId::try_from("10000100")?,
///     ..Merchant::default()
/// };
/// let order: OutTradeNo = "1217752501201407033233368018".parse()?;
/// assert_eq!(merchant.appid.as_str(), "wx2421b1c4370ec43b");
/// # let _: AppId = merchant.appid; let _ = order;
/// # Ok::<(), facepay_fsm::TextTooLong>(())
/// ```
#[derive(Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Text<const N: usize, L: LenType = u16>(heapless::String<N, L>);

impl<const N: usize, L: LenType> Clone for Text<N, L> {
    #[inline]
    fn clone(&self) -> Self {
        Text(self.0.clone())
    }

    /// In place: copies the text's bytes, not its capacity (a clone is a whole value of
    /// up to 2 KB, built aside and moved). Prefer it to `a = b.clone()`.
    #[inline]
    fn clone_from(&mut self, source: &Self) {
        self.0.clear();
        // Cannot fail: the same capacity holds the same text.
        let _ = self.0.push_str(source.as_str());
    }
}

impl<const N: usize, L: LenType> Text<N, L> {
    /// The capacity in bytes.
    pub const CAPACITY: usize = N;

    /// An empty value.
    pub fn empty() -> Self {
        Text(heapless::String::new())
    }

    /// Copies `value`; fails with [`FieldError::TooLong`] naming `field` if it does not fit.
    pub fn new(field: Field, value: &str) -> Result<Self, FieldError> {
        value.parse().map_err(|e: TextTooLong| e.in_field(field))
    }

    /// Like [`Text::new`], but an empty value is [`FieldError::Empty`].
    pub fn required(field: Field, value: &str) -> Result<Self, FieldError> {
        if value.is_empty() {
            return Err(FieldError::Empty { field });
        }
        Self::new(field, value)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A value over its text type's capacity, from `str::parse` or `TryFrom<&str>`.
///
/// Those conversions cannot name the field: the aliases share types (`OutTradeNo`, `AppId`
/// and `MchId` are all `Text<32, u8>`). Where the error reaches a person, name it with
/// [`TextTooLong::in_field`], or build with [`Text::new`] instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextTooLong {
    /// The value's length in bytes (UTF-8).
    pub len: u32,
    /// The capacity in bytes.
    pub cap: u32,
}

impl TextTooLong {
    /// The same error, naming the field it was meant for.
    #[must_use]
    pub fn in_field(self, field: Field) -> FieldError {
        FieldError::TooLong {
            field,
            len: self.len,
            cap: self.cap,
        }
    }
}

impl fmt::Display for TextTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of {} bytes is over its capacity of {}", self.len, self.cap)
    }
}

impl core::error::Error for TextTooLong {}

/// `"1217752501201407033233368018".parse::<OutTradeNo>()`: copies the text if it fits.
impl<const N: usize, L: LenType> core::str::FromStr for Text<N, L> {
    type Err = TextTooLong;

    fn from_str(value: &str) -> Result<Self, TextTooLong> {
        let mut s = heapless::String::new();
        match s.push_str(value) {
            Ok(()) => Ok(Text(s)),
            Err(_) => Err(TextTooLong {
                len: u32::try_from(value.len()).unwrap_or(u32::MAX),
                cap: u32::try_from(N).unwrap_or(u32::MAX),
            }),
        }
    }
}

/// `OutTradeNo::try_from("…")`: the same as `str::parse`.
impl<const N: usize, L: LenType> TryFrom<&str> for Text<N, L> {
    type Error = TextTooLong;

    fn try_from(value: &str) -> Result<Self, TextTooLong> {
        value.parse()
    }
}

impl<const N: usize, L: LenType> fmt::Debug for Text<N, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize, L: LenType> fmt::Display for Text<N, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize, L: LenType> core::ops::Deref for Text<N, L> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

// Capacities, in bytes of UTF-8. The v2 API documents most fields as String(N); where the
// docs give no length (SDK-only values) the cap is generous and stated as our choice.

/// `out_trade_no`: v2 API String(32).
pub type OutTradeNo = Text<32, u8>;
/// `appid` / `sub_appid`: v2 API String(32).
pub type AppId = Text<32, u8>;
/// `mch_id` / `sub_mch_id`: v2 API String(32).
pub type MchId = Text<32, u8>;
/// `store_id`: get_wxpayface_authinfo String(32).
pub type StoreId = Text<32, u8>;
/// `face_code`: no documented length; observed values are ~16-64 characters. Our cap: 128.
pub type FaceCode = Text<128, u8>;
/// `auth_code`: micropay String(128) (an 18-digit code in practice).
pub type AuthCode = Text<128, u8>;
/// `authinfo`: no documented length; observed values are a few hundred bytes. Our cap: 1024.
pub type AuthInfo = Text<1024>;
/// `rawdata`: no documented length; observed values are around 1-2 KiB. Our cap: 2048.
pub type RawData = Text<2048>;
/// `openid` / `sub_openid`: v2 API String(128).
pub type OpenId = Text<128, u8>;
/// WeChat nickname: 32 characters at most in the client, up to 4 bytes each in UTF-8.
pub type Nickname = Text<128, u8>;
/// `telephone`: a mainland or international number. Our cap: 20.
pub type Telephone = Text<20, u8>;
/// `transaction_id`: v2 API String(32).
pub type TransactionId = Text<32, u8>;
/// `return_msg` / `err_code_des`: v2 API String(128); SDK messages are short Chinese text.
pub type Message = Text<128, u8>;
/// An error or state code from the wire (`err_code`, `trade_state`, ...): v2 API String(32).
pub type CodeText = Text<32, u8>;
/// A proxy host name or IP address (`ip`): a DNS name is at most 253 bytes.
pub type Host = Text<253, u8>;
/// A decimal port number as a string (`port`, `tcp_port`).
pub type PortText = Text<5, u8>;
/// Proxy credentials (`user`, `passwd`). Our cap: 64.
pub type Credential = Text<64, u8>;
/// `face_sid` (FACE_AUTH mode). Our cap: 64.
pub type FaceSid = Text<64, u8>;
/// `screen_index`: a small integer as a string. Our cap: 4.
pub type ScreenIndex = Text<4, u8>;

/// An 18-digit WeChat payment code (刷卡付款码), the only form `micropay` accepts from the
/// code scanner. Anything else the scanner reads (a product barcode, a QR URL) is not one.
pub fn is_payment_code(code: &str) -> bool {
    code.len() == 18 && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_capacity_is_a_typed_error_naming_the_field() {
        let long = "x".repeat(33);
        assert_eq!(
            OutTradeNo::new(Field::OutTradeNo, &long),
            Err(FieldError::TooLong {
                field: Field::OutTradeNo,
                len: 33,
                cap: 32
            })
        );
        assert_eq!(OutTradeNo::new(Field::OutTradeNo, &long[..32]).map(|t| t.len()), Ok(32));
    }

    #[test]
    fn parse_and_try_from_copy_a_value_that_fits() {
        let no: OutTradeNo = "1217752501201407033233368018".parse().unwrap();
        assert_eq!(no.as_str(), "1217752501201407033233368018");
        assert_eq!(
            AppId::try_from("wx2421b1c4370ec43b").unwrap().as_str(),
            "wx2421b1c4370ec43b"
        );
        assert_eq!(Telephone::try_from("").unwrap(), Telephone::empty());
    }

    #[test]
    fn parse_over_capacity_says_how_long_and_can_name_the_field() {
        let long = "9".repeat(21);
        let err = long.parse::<Telephone>().unwrap_err();
        assert_eq!(err, TextTooLong { len: 21, cap: 20 });
        assert_eq!(err.to_string(), "a value of 21 bytes is over its capacity of 20");
        assert_eq!(
            err.in_field(Field::Telephone),
            FieldError::TooLong {
                field: Field::Telephone,
                len: 21,
                cap: 20
            }
        );
        assert_eq!(Telephone::try_from(long.as_str()), Err(err));
        // A multi-byte value is measured in bytes, as the wire does.
        assert_eq!(
            "刷".repeat(2).parse::<ScreenIndex>(),
            Err(TextTooLong { len: 6, cap: 4 })
        );
    }

    #[test]
    fn required_rejects_empty() {
        assert_eq!(
            FaceCode::required(Field::FaceCode, ""),
            Err(FieldError::Empty { field: Field::FaceCode })
        );
    }

    #[test]
    fn payment_code_is_18_digits() {
        assert!(is_payment_code("134567890123456789"));
        assert!(!is_payment_code("13456789012345678"));
        assert!(!is_payment_code("13456789012345678a"));
        assert!(!is_payment_code("b713b5d2-666c-48"));
    }
}
