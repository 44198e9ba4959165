/// Public keys no fixture generator makes: curves, sizes and types the engine must refuse, and
/// a certificate where a bare key is expected. Made once with the openssl CLI (public halves only).
public enum OddKeys {
    /// `openssl ecparam -name secp256k1 -genkey | openssl ec -pubout`
    public static let secp256k1PublicPEM = """
        -----BEGIN PUBLIC KEY-----
        MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAEXE01sSFuBV7lnmligS9sgSomQlGdrZON
        9t/mgXGfxQlHFbVQIP4vS6whFZnZJHZUna1on96wTAqzIcYJamJkCg==
        -----END PUBLIC KEY-----

        """

    /// `openssl genrsa 512 | openssl rsa -pubout`
    public static let rsa512PublicPEM = """
        -----BEGIN PUBLIC KEY-----
        MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKXFiYaAOtmZXPiwX1HJ75y6BMQ3AVR8
        K92g8DHC6V8I6hfHgYsb+SDM9z2zogtMfFizr1Dtjr3WsvEuE+lmWV8CAwEAAQ==
        -----END PUBLIC KEY-----

        """

    /// `openssl genpkey -algorithm ed25519 | openssl pkey -pubout`
    public static let ed25519PublicPEM = """
        -----BEGIN PUBLIC KEY-----
        MCowBQYDK2VwAyEAT/MpGJiliBlxzICE/g1AMDZZ6U/I0oiQpY0qhJITXco=
        -----END PUBLIC KEY-----

        """

    /// A self-signed P-256 certificate (`openssl req -x509 -new -key p256.pem -subj /CN=test`).
    public static let certificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIBdDCCARmgAwIBAgIUKUjmfv3qRaJDA44TZUeP+4Dqlw8wCgYIKoZIzj0EAwIw
        DzENMAsGA1UEAwwEdGVzdDAeFw0yNjExMjkxNTI3MTRaFw0zNjExMjYxNTI3MTRa
        MA8xDTALBgNVBAMMBHRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATfqyUT
        N/5t5dA77DCT81eNLjXeaWYiRHOiPDbTOqMMgw9VOTPfvDAdhZyK4nBCji2cMaQL
        xB0Qx2Iz/SfOSmrHo1MwUTAdBgNVHQ4EFgQU0xoDRfKHTXIha34i3CycmC4wM8Iw
        HwYDVR0jBBgwFoAU0xoDRfKHTXIha34i3CycmC4wM8IwDwYDVR0TAQH/BAUwAwEB
        /zAKBggqhkjOPQQDAgNJADBGAiEAu9Gvyec5WkOGyPclJrsp4/CTnYPc4sj3Ec3L
        rzs1zJYCIQDugb4tckjCnYyltDL8YM7jahz9GYXJF1vkKcQzNki8Jg==
        -----END CERTIFICATE-----

        """
}
