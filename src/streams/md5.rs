//! MD5, only for the CDN URL signatures, whose formats fix the hash: it protects nothing by
//! itself here, the secret key in the signed string does. The digest is RustCrypto's `md-5`.

use ::md5::{Digest, Md5};

/// The digest of `data` as 32 lower-case hex digits.
pub fn hex(data: &[u8]) -> String {
    ::hex::encode(Md5::digest(data))
}

#[cfg(test)]
mod tests {
    use super::hex;

    /// The test suite of RFC 1321, appendix A.5.
    #[test]
    fn rfc_1321_test_suite() {
        let suite = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, expected) in suite {
            assert_eq!(hex(input.as_bytes()), expected, "md5({input:?})");
        }
    }

    #[test]
    fn block_boundaries() {
        // 55, 56 and 64 bytes: from 56 on the padding spills into a second block.
        // Known answers computed with coreutils: `head -c N /dev/zero | tr '\0' x | md5sum`.
        assert_eq!(hex(&[b'x'; 55]), "04364420e25c512fd958a70738aa8f72");
        assert_eq!(hex(&[b'x'; 56]), "668a72d5ba17f08e62dabcafad6db14b");
        assert_eq!(hex(&[b'x'; 64]), "c1bb4f81d892b2d57947682aeb252456");
    }
}
