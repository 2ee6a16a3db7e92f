//! WeChat Pay's merchant trade bill (v2 `downloadbill`, `bill_type=ALL`), read and written.
//!
//! The file (docs/reconcile.md cites WeChat's pages): a header row of Chinese column names,
//! one detail row per transaction whose every value is prefixed with a back-tick (so Excel
//! keeps long numbers as text), then a summary header row (`总交易单数,...`) and one
//! summary row. Amounts are in yuan with two decimals. `tar_type=GZIP` gives the same file
//! gzipped. Columns are found by name, so a file with more or fewer columns still reads.

use std::collections::BTreeMap;
use std::fmt;

/// The detail header of an ALL bill, in WeChat's order.
pub const ALL_COLUMNS: [&str; 27] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

/// The summary header that ends the detail rows.
pub const SUMMARY_COLUMNS: [&str; 7] = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
];

/// Why a bill could not be read: what, and where (1-based line; the column's name).
#[derive(Debug, PartialEq, Eq)]
pub enum BillError {
    /// The file is empty.
    Empty,
    /// Not UTF-8 (WeChat's bills are).
    NotUtf8 {
        /// Byte offset of the first bad byte.
        at: usize,
    },
    /// The first row lacks a column reconciliation needs.
    MissingColumn {
        /// The column's name.
        column: &'static str,
    },
    /// The CSV itself is broken.
    Csv {
        /// Line.
        line: u64,
        /// The parser's message.
        message: String,
    },
    /// A value is not what its column holds.
    BadValue {
        /// Line.
        line: u64,
        /// The column's name.
        column: &'static str,
        /// The value as found.
        value: String,
    },
    /// A detail row has fewer fields than the header.
    ShortRow {
        /// Line.
        line: u64,
        /// Fields found.
        found: usize,
        /// Fields in the header.
        expected: usize,
    },
}

impl fmt::Display for BillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BillError::Empty => f.write_str("empty bill: no header row"),
            BillError::NotUtf8 { at } => write!(f, "not UTF-8 at byte {at}"),
            BillError::MissingColumn { column } => {
                write!(
                    f,
                    "line 1: the header has no `{column}` column (is this a bill_type=ALL trade bill?)"
                )
            }
            BillError::Csv { line, message } => write!(f, "line {line}: not CSV: {message}"),
            BillError::BadValue { line, column, value } => {
                write!(f, "line {line}, column `{column}`: unexpected value {value:?}")
            }
            BillError::ShortRow { line, found, expected } => {
                write!(f, "line {line}: {found} fields, the header has {expected}")
            }
        }
    }
}

impl std::error::Error for BillError {}

/// One detail row (one transaction) of the bill, as reconciliation reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillRow {
    /// Its line in the file.
    pub line: u64,
    /// 交易时间.
    pub time: String,
    /// 设备号 (`device_info` of the order; the terminal).
    pub device: String,
    /// 微信订单号 (`transaction_id`).
    pub transaction_id: String,
    /// 商户订单号 (`out_trade_no`).
    pub out_trade_no: String,
    /// 交易状态: `SUCCESS`, `REFUND`, `REVOKED`, ...
    pub state: String,
    /// 订单金额 (the order's `total_fee`) in fen; 应结订单金额 when the bill has no 订单金额.
    pub amount_fen: u64,
    /// 退款金额 in fen.
    pub refund_fen: u64,
}

/// A whole bill: its detail rows and, if present, its summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bill {
    /// The detail rows, in file order.
    pub rows: Vec<BillRow>,
    /// The summary row by column name (`总交易单数` → `3`), back-ticks removed.
    pub summary: BTreeMap<String, String>,
}

/// Yuan with up to two decimals (`0.01`, `12`, `-0.27`) as fen; `None` if it is not.
pub fn yuan_to_fen(text: &str) -> Option<u64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents: u64 = format!("{frac:0<2}").parse().ok()?;
    whole.parse::<u64>().ok()?.checked_mul(100)?.checked_add(cents)
}

/// Fen as yuan with two decimals.
pub fn fen_to_yuan(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// A field without WeChat's back-tick prefix and surrounding spaces.
fn clean(field: &str) -> &str {
    let f = field.trim();
    f.strip_prefix('`').unwrap_or(f).trim()
}

/// Reads a bill (already decompressed; a UTF-8 BOM is skipped).
pub fn parse_bill(bytes: &[u8]) -> Result<Bill, BillError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(BillError::NotUtf8 { at: e.valid_up_to() });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.records();
    let csv_error = |e: csv::Error| BillError::Csv {
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    };
    let header = match records.next() {
        None => return Err(BillError::Empty),
        Some(r) => r.map_err(csv_error)?,
    };
    let names: Vec<&str> = header.iter().map(clean).collect();
    let find = |column: &'static str| names.iter().position(|n| *n == column);
    let need = |column: &'static str| find(column).ok_or(BillError::MissingColumn { column });
    let otn = need("商户订单号")?;
    let state = need("交易状态")?;
    let amount_col = match find("订单金额") {
        Some(i) => ("订单金额", i),
        None => ("应结订单金额", need("应结订单金额")?),
    };
    let refund = find("退款金额");
    let (time, device, txn) = (find("交易时间"), find("设备号"), find("微信订单号"));
    let mut bill = Bill {
        rows: Vec::new(),
        summary: BTreeMap::new(),
    };
    let mut summary_names: Option<Vec<String>> = None;
    // (byte offset, newlines before it).
    let mut counted = (0usize, 0u64);
    for record in records {
        let record = record.map_err(csv_error)?;
        // The line from the record's byte offset: on CRLF files (WeChat's bills) csv puts a
        // record at the `\n` ending the line before it and counts one line short. Counted
        // on from the last record, so a big bill is read in one pass.
        let end = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .map_or(bytes.len(), |b| b.saturating_add(1).min(bytes.len()));
        if end > counted.0 {
            let newlines = bytes
                .get(counted.0..end)
                .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
            counted = (end, counted.1 + newlines as u64);
        }
        let line = counted.1 + 1;
        let fields: Vec<&str> = record.iter().map(clean).collect();
        if fields.iter().all(|f| f.is_empty()) {
            continue;
        }
        if let Some(names) = &summary_names {
            for (k, v) in names.iter().zip(&fields) {
                bill.summary.insert(k.clone(), (*v).to_string());
            }
            continue;
        }
        if fields.first() == Some(&SUMMARY_COLUMNS[0]) {
            summary_names = Some(fields.iter().map(|s| s.to_string()).collect());
            continue;
        }
        if fields.len() < names.len() {
            return Err(BillError::ShortRow {
                line,
                found: fields.len(),
                expected: names.len(),
            });
        }
        let get = |i: Option<usize>| i.and_then(|i| fields.get(i)).map_or(String::new(), |s| s.to_string());
        let money = |(column, i): (&'static str, usize)| {
            let v = fields.get(i).copied().unwrap_or_default();
            if v.is_empty() {
                return Ok(0);
            }
            yuan_to_fen(v).ok_or_else(|| BillError::BadValue {
                line,
                column,
                value: v.to_string(),
            })
        };
        bill.rows.push(BillRow {
            line,
            time: get(time),
            device: get(device),
            transaction_id: get(txn),
            out_trade_no: get(Some(otn)),
            state: get(Some(state)),
            amount_fen: money(amount_col)?,
            refund_fen: match refund {
                Some(i) => money(("退款金额", i))?,
                None => 0,
            },
        });
    }
    Ok(bill)
}

/// A transaction to write into a bill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillEntry {
    /// 交易时间, `yyyy-MM-dd HH:mm:ss`.
    pub time: String,
    /// 公众账号ID.
    pub appid: String,
    /// 商户号.
    pub mch_id: String,
    /// 设备号.
    pub device: String,
    /// 微信订单号.
    pub transaction_id: String,
    /// 商户订单号.
    pub out_trade_no: String,
    /// 交易类型: `MICROPAY` (付款码支付; face payment settles as one).
    pub trade_type: String,
    /// 交易状态: `SUCCESS`, `REFUND` or `REVOKED`.
    pub state: String,
    /// `total_fee`, fen.
    pub amount_fen: u64,
    /// Refunded, fen (REFUND rows).
    pub refund_fen: u64,
}

/// Writes `entries` as a bill_type=ALL trade bill: header, back-ticked detail rows, the
/// summary header and row. Fees are charged at 0.60% (an assumption: the rate is the
/// merchant's contract, not the protocol's).
pub fn write_bill<W: std::io::Write>(out: W, entries: &[BillEntry]) -> Result<(), csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(ALL_COLUMNS)?;
    let mut totals = [0u64; 6]; // settle, refund, recharge refund, fee (1e-5 yuan), order, refund asked
    for e in entries {
        let refund = e.state == "REFUND";
        let settle = if refund { 0 } else { e.amount_fen };
        let fee_units = settle * 6; // 0.6% of fen, in 1e-5 yuan
        totals[0] += settle;
        totals[1] += e.refund_fen;
        totals[3] += fee_units;
        totals[4] += if refund { 0 } else { e.amount_fen };
        totals[5] += e.refund_fen;
        let t = |s: &str| format!("`{s}");
        let yuan = |fen: u64| format!("`{}", fen_to_yuan(fen));
        w.write_record([
            t(&e.time),
            t(&e.appid),
            t(&e.mch_id),
            t("0"),
            t(&e.device),
            t(&e.transaction_id),
            t(&e.out_trade_no),
            t("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
            t(&e.trade_type),
            t(&e.state),
            t("OTHERS"),
            t("CNY"),
            yuan(settle),
            yuan(0),
            t(if refund { "50000000000000000000000000000" } else { "0" }),
            t(if refund { "R1" } else { "0" }),
            yuan(e.refund_fen),
            yuan(0),
            t(if refund { "ORIGINAL" } else { "" }),
            t(if refund { "SUCCESS" } else { "" }),
            t("facepay"),
            t(""),
            format!("`{}.{:05}", fee_units / 100_000, fee_units % 100_000),
            t("0.60%"),
            yuan(if refund { 0 } else { e.amount_fen }),
            yuan(e.refund_fen),
            t(""),
        ])?;
    }
    w.write_record(SUMMARY_COLUMNS)?;
    w.write_record([
        format!("`{}", entries.len()),
        format!("`{}", fen_to_yuan(totals[0])),
        format!("`{}", fen_to_yuan(totals[1])),
        format!("`{}", fen_to_yuan(totals[2])),
        format!("`{}.{:05}", totals[3] / 100_000, totals[3] % 100_000),
        format!("`{}", fen_to_yuan(totals[4])),
        format!("`{}", fen_to_yuan(totals[5])),
    ])?;
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bill in WeChat's published layout (two orders, one refund), as merchants get it.
    const SAMPLE: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n\
`2021-04-11 22:55:53,`wx2421b1c4370ec43b,`10000100,`0,`T-0001,`4200000000202104110000000001,`FP0001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,`0.00,`,`,`goods,`,`0.00000,`0.60%,`0.01,`0.00,`\r\n\
`2021-04-11 23:01:02,`wx2421b1c4370ec43b,`10000100,`0,`T-0001,`4200000000202104110000000002,`FP0002,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300000000000000000000001,`R1,`12.50,`0.00,`ORIGINAL,`SUCCESS,`goods,`,`-0.07000,`0.60%,`0.00,`12.50,`\r\n\
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n\
`2,`0.01,`12.50,`0.00,`-0.07000,`0.01,`12.50\r\n";

    #[test]
    fn reads_wechats_layout() {
        let bill = parse_bill(SAMPLE.as_bytes()).unwrap();
        assert_eq!(bill.rows.len(), 2);
        assert_eq!(bill.rows[0].out_trade_no, "FP0001");
        assert_eq!(bill.rows[0].amount_fen, 1);
        assert_eq!(bill.rows[0].device, "T-0001");
        assert_eq!(bill.rows[1].state, "REFUND");
        assert_eq!(bill.rows[1].refund_fen, 1250);
        assert_eq!(bill.summary.get("总交易单数").map(String::as_str), Some("2"));
    }

    #[test]
    fn written_bills_read_back() {
        let entries = vec![BillEntry {
            time: "2026-12-01 10:00:00".into(),
            appid: "wx2421b1c4370ec43b".into(),
            mch_id: "10000100".into(),
            device: "T7".into(),
            transaction_id: "420000000000000000001".into(),
            out_trade_no: "FP00000001".into(),
            trade_type: "MICROPAY".into(),
            state: "SUCCESS".into(),
            amount_fen: 12345,
            refund_fen: 0,
        }];
        let mut out = Vec::new();
        write_bill(&mut out, &entries).unwrap();
        let bill = parse_bill(&out).unwrap();
        assert_eq!(bill.rows.len(), 1);
        assert_eq!(bill.rows[0].amount_fen, 12345);
        assert_eq!(bill.summary.get("订单总金额").map(String::as_str), Some("123.45"));
    }

    #[test]
    fn bad_bills_say_where() {
        assert_eq!(parse_bill(b""), Err(BillError::Empty));
        let no_otn = "交易时间,交易状态,订单金额\r\n`x,`SUCCESS,`1.00\r\n";
        assert_eq!(
            parse_bill(no_otn.as_bytes()),
            Err(BillError::MissingColumn {
                column: "商户订单号"
            })
        );
        let bad = SAMPLE.replacen("`0.01,`0.00,`", "`0.0x,`0.00,`", 2);
        let e = parse_bill(bad.as_bytes()).unwrap_err();
        assert!(matches!(e, BillError::BadValue { line: 2, .. }), "{e}");
        assert_eq!(yuan_to_fen("12.5"), Some(1250));
        assert_eq!(yuan_to_fen("1.234"), None);
        assert_eq!(yuan_to_fen("-1.00"), None);
    }
}
