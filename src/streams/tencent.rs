//! Tencent Cloud CSS hotlink protection (防盗链): `?txSecret={md5hex(key + stream + txTime)}&txTime=…`,
//! txTime being the expiry in unix seconds as upper-case hex.

use super::md5;

/// `txTime` of an expiry (unix seconds).
pub fn tx_time(expiry: i64) -> String {
    format!("{expiry:X}")
}

/// `txSecret` of a stream name and a `txTime`.
pub fn tx_secret(key: &str, stream: &str, tx_time: &str) -> String {
    md5::hex(format!("{key}{stream}{tx_time}").as_bytes())
}

/// The expiry a `txSecret`/`txTime` pair carries when the signature is right for `stream`.
pub fn verify(stream: &str, tx_secret_given: &str, tx_time_given: &str, key: &str) -> Option<i64> {
    if tx_time_given.is_empty() || tx_time_given.len() > 15 {
        return None;
    }
    let expiry = i64::from_str_radix(tx_time_given, 16).ok()?;
    let expected = tx_secret(key, stream, tx_time_given);
    super::same(
        expected.as_bytes(),
        tx_secret_given.to_ascii_lowercase().as_bytes(),
    )
    .then_some(expiry)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of Tencent Cloud's own documentation, "Hotlink Protection URL Calculation"
    // (https://intl.cloud.tencent.com/document/product/267/31560): KEY
    // e12c46f2612d5106e2034781ab261ca3, StreamName test, expiry 2018-12-29 14:13:45 (+08:00) =
    // 1546064025 = txTime 5C271099; txSecret = MD5(e12c46f2612d5106e2034781ab261ca3test5C271099)
    // = f85a2ab363fe4deaffef9754d79da6fe; push URL
    // rtmp://livepush.tcloud.com/live/test?txSecret=f85a2ab363fe4deaffef9754d79da6fe&txTime=5C271099
    const KEY: &str = "e12c46f2612d5106e2034781ab261ca3";
    const SECRET: &str = "f85a2ab363fe4deaffef9754d79da6fe";

    #[test]
    fn vendor_example_signs() {
        assert_eq!(tx_time(1546064025), "5C271099");
        assert_eq!(tx_secret(KEY, "test", "5C271099"), SECRET);
    }

    #[test]
    fn vendor_example_verifies() {
        assert_eq!(verify("test", SECRET, "5C271099", KEY), Some(1546064025));
    }

    #[test]
    fn anything_else_fails() {
        assert_eq!(verify("test2", SECRET, "5C271099", KEY), None);
        assert_eq!(verify("test", SECRET, "5C27109A", KEY), None);
        assert_eq!(verify("test", SECRET, "5C271099", "another-key"), None);
        assert_eq!(
            verify("test", &SECRET.replace("6fe", "6ff"), "5C271099", KEY),
            None
        );
        assert_eq!(verify("test", SECRET, "", KEY), None);
        assert_eq!(verify("test", SECRET, "not-hex", KEY), None);
        assert_eq!(verify("test", "", "5C271099", KEY), None);
    }
}
