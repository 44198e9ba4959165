import RewrapAuth
import Testing

/// The `htu` normalisation paragraph of kas-server.md §4.3.
@Suite struct HTUTests {
    @Test func expectedValuesForBothSchemes() {
        #expect(HTU.expected(authority: "KAS.example:443", procedurePath: "/kas.AccessService/Rewrap")
            == ["http://kas.example:443/kas.AccessService/Rewrap", "https://kas.example/kas.AccessService/Rewrap"])
        #expect(HTU.expected(authority: "kas.example:80", procedurePath: "/p")
            == ["http://kas.example/p", "https://kas.example:80/p"])
        #expect(HTU.expected(authority: "[::1]:8080", procedurePath: "/p") == ["http://[::1]:8080/p", "https://[::1]:8080/p"])
    }

    @Test func normalisation() {
        #expect(HTU.normalize("HTTPS://Kas.Example:443") == "https://kas.example/")
        #expect(HTU.normalize("https://kas.example/a/%7euser/%2f/%e2%82%ac") == "https://kas.example/a/~user/%2F/%E2%82%AC")
        #expect(HTU.normalize("https://kas.example/a/b/../c/./d?q#f") == "https://kas.example/a/c/d")
        #expect(HTU.normalize("https://kas.example//a//b") == "https://kas.example//a//b")  // repeated slashes kept
        #expect(HTU.normalize("http://[::1]:80/x") == "http://[::1]/x")
        #expect(HTU.normalize("ftp://kas.example/x") == nil)
        #expect(HTU.normalize("https://user@kas.example/x") == nil)
        #expect(HTU.normalize("https://kas.example:port/x") == nil)
        #expect(HTU.normalize("https://kas.example/%zz") == nil)
        #expect(HTU.normalize("/kas.AccessService/./Rewrap") == "/kas.AccessService/Rewrap")
    }

    @Test func matching() {
        let path = "/kas.AccessService/Rewrap"
        #expect(HTU.matches("https://kas.example:443/kas.AccessService/Rewrap", authority: "kas.example", procedurePath: path, strict: true))
        #expect(HTU.matches("http://kas.example/kas.AccessService/Rewrap", authority: "kas.example:80", procedurePath: path, strict: true))
        #expect(!HTU.matches("https://kas.example/kas.AccessService/rewrap", authority: "kas.example", procedurePath: path, strict: false))
        #expect(!HTU.matches("https://kas.example:8443/kas.AccessService/Rewrap", authority: "kas.example", procedurePath: path, strict: false))
        #expect(HTU.matches(path, authority: "kas.example", procedurePath: path, strict: false))
        #expect(!HTU.matches(path, authority: "kas.example", procedurePath: path, strict: true))
        #expect(!HTU.matches("/other", authority: "kas.example", procedurePath: path, strict: false))
    }
}
