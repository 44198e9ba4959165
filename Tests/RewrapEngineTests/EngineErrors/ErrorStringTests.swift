import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

extension EngineErrorTests {
    /// The rendering rule of spec §4.4: only secret-dependent failures say "bad request".
    @Suite struct ErrorStringTests: EngineErrorSuite {
        /// No KAO error string says "bad request" unless it is a secret-dependent failure, and every
        /// descriptive one has the invalid_argument shape (spec §4.4 rule).
        @Test func descriptiveErrorsNeverSayBadRequest() {
            let descriptive = [
                KAOError.keyAccessObjectNil, .wrappedKeyEmpty, .ecWrappedNotEnabled, .invalidEphemeralPublicKey,
                .unsupportedECKeySize, .invalidEphemeralPublicKeyPEM, .ephemeralKeyNotEC, .invalidECPublicKey,
                .noLegacyKeyIDs, .unsupportedKeyType, .missingPolicyBinding, .invalidRequest, .badKeyForRewrap,
                .ephemeralKeyTooLarge, .wrappedKeyTooLarge, .policyTooLarge,
            ]
            for error in descriptive {
                #expect(!error.wireString.contains("bad request"), "\(error.detail)")
                #expect(error.wireString == Self.invalidArgument(error.detail))
            }
            #expect(KAOError.badRequest.wireString == Self.badRequest)
            #expect(KAOError.forbidden.wireString == Self.forbidden)
            #expect(KAOError.pdpDenied.wireString == Self.permissionDenied("forbidden: pdp-denied"))
            #expect(KAOError.authServiceUnavailable.wireString == Self.internalError("internal: auth-service-unavailable"))
            #expect(RewrapRequestError.invalidRequestBody.connectJSON
                == "{\"code\":\"invalid_argument\",\"message\":\"request error\\nrpc error: code = InvalidArgument desc = invalid request body\"}")
        }
    }
}
