//! Alibaba Cloud URL signing, type A (鉴权方式A): `?auth_key={expiry}-{rand}-{uid}-{md5hash}`, where
//! md5hash = md5(`"{path}-{expiry}-{rand}-{uid}-{key}"`), path being the URL's path without its query.

use super::md5;

/// The `auth_key` value of `path`, valid until `expiry` (unix seconds).
pub fn auth_key(path: &str, expiry: i64, rand: &str, uid: &str, key: &str) -> String {
    format!(
        "{expiry}-{rand}-{uid}-{}",
        hash(path, &expiry.to_string(), rand, uid, key)
    )
}

fn hash(path: &str, expiry: &str, rand: &str, uid: &str, key: &str) -> String {
    md5::hex(format!("{path}-{expiry}-{rand}-{uid}-{key}").as_bytes())
}

/// The expiry an `auth_key` carries when its signature is right for `path` and `key`.
pub fn verify(path: &str, auth_key: &str, key: &str) -> Option<i64> {
    let (expiry, rest) = auth_key.split_once('-')?;
    let (rest, given) = rest.rsplit_once('-')?;
    let (rand, uid) = rest.rsplit_once('-')?;
    if expiry.is_empty() || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let expected = hash(path, expiry, rand, uid, key);
    super::same(expected.as_bytes(), given.to_ascii_lowercase().as_bytes())
        .then(|| expiry.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of Alibaba Cloud's own documentation, "鉴权方式A说明" / "Type A signing"
    // (https://help.aliyun.com/document_detail/85113.html, also
    // https://www.alibabacloud.com/help/doc-detail/85113.htm): object
    // http://cdn.example.com/video/standard/1K.html, key aliyuncdnexp1234, expiry 1444435200
    // (2015-10-10 00:00:00 +08:00), rand 0, uid 0; signed string
    // "/video/standard/1K.html-1444435200-0-0-aliyuncdnexp1234",
    // HashValue 80cd3862d699b7118eed99103f2a3a4f, URL
    // http://cdn.example.com/video/standard/1K.html?auth_key=1444435200-0-0-80cd3862d699b7118eed99103f2a3a4f
    const PATH: &str = "/video/standard/1K.html";
    const KEY: &str = "aliyuncdnexp1234";
    const AUTH_KEY: &str = "1444435200-0-0-80cd3862d699b7118eed99103f2a3a4f";

    #[test]
    fn vendor_example_signs() {
        assert_eq!(auth_key(PATH, 1444435200, "0", "0", KEY), AUTH_KEY);
    }

    #[test]
    fn vendor_example_verifies() {
        assert_eq!(verify(PATH, AUTH_KEY, KEY), Some(1444435200));
        assert_eq!(
            verify(PATH, &AUTH_KEY.to_uppercase(), KEY),
            Some(1444435200)
        );
    }

    #[test]
    fn anything_else_fails() {
        assert_eq!(verify("/video/standard/2K.html", AUTH_KEY, KEY), None);
        assert_eq!(verify(PATH, AUTH_KEY, "another-key"), None);
        let later = AUTH_KEY.replacen("1444435200", "1444435201", 1);
        assert_eq!(verify(PATH, &later, KEY), None);
        let tampered = AUTH_KEY.replace("a4f", "a4e");
        assert_eq!(verify(PATH, &tampered, KEY), None);
        for malformed in [
            "",
            "0",
            "1444435200-0-0",
            "x-0-0-80cd3862d699b7118eed99103f2a3a4f",
        ] {
            assert_eq!(verify(PATH, malformed, KEY), None, "{malformed:?}");
        }
    }

    #[test]
    fn rand_and_uid_are_signed() {
        let signed = auth_key(
            PATH,
            1444435200,
            "477b3bbc253f467b8def6711128c7bec",
            "0",
            KEY,
        );
        assert_eq!(verify(PATH, &signed, KEY), Some(1444435200));
        let other_rand = signed.replacen("477b", "577b", 1);
        assert_eq!(verify(PATH, &other_rand, KEY), None);
    }
}
