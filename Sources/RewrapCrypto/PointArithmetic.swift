internal import COpenSSL

/// One thread's EC point arithmetic on one curve, for ECDH without per-operation objects: the
/// group, a peer point and a product point, the x-coordinate and a BN_CTX are made once and
/// reused. Not thread-safe; a `CryptoWorker` owns one per curve.
final class PointArithmetic {
    private let group: OpaquePointer
    private let peer: OpaquePointer
    private let product: OpaquePointer
    private let x: OpaquePointer
    private let bignums: OpaquePointer
    private let coordinateByteCount: Int

    init(curve: Curve) throws(CryptoError) {
        guard let group = EC_GROUP_new_by_curve_name(curve.nid) else { throw .openSSL("EC_GROUP_new_by_curve_name") }
        let peer = EC_POINT_new(group), product = EC_POINT_new(group), x = BN_secure_new(), bignums = BN_CTX_secure_new()
        guard let peer, let product, let x, let bignums else {
            EC_POINT_free(peer)
            EC_POINT_free(product)
            BN_free(x)
            BN_CTX_free(bignums)
            EC_GROUP_free(group)
            throw .openSSL("EC_POINT_new / BN_CTX_new")
        }
        self.group = group
        self.peer = peer
        self.product = product
        self.x = x
        self.bignums = bignums
        coordinateByteCount = curve.coordinateByteCount
    }

    deinit {
        EC_POINT_free(peer)
        EC_POINT_clear_free(product)
        BN_clear_free(x)
        // Frees its pooled temporaries with BN_clear_free: intermediate values of the ladder
        // (P-384, P-521) stay in the pool between operations, overwritten by the next one.
        BN_CTX_free(bignums)
        EC_GROUP_free(group)
    }

    /// Z = x(scalar · peerPoint), left-padded to the coordinate size, into `output`.
    /// `EC_POINT_oct2point` rejects a point off the curve (`.invalidPoint`).
    func sharedSecret(scalar: OpaquePointer, peerPoint: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        guard EC_POINT_oct2point(group, peer, peerPoint.baseAddress!.assumingMemoryBound(to: UInt8.self), peerPoint.count, bignums) == 1,
              EC_POINT_is_at_infinity(group, peer) == 0
        else {
            CryptoError.clearQueue()
            throw .invalidPoint
        }
        defer { wipe() }
        guard EC_POINT_mul(group, product, nil, peer, scalar, bignums) == 1,
              EC_POINT_get_affine_coordinates(group, product, x, nil, bignums) == 1,
              BN_bn2binpad(x, output.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(coordinateByteCount)) == Int32(coordinateByteCount)
        else {
            CryptoError.clearQueue()
            throw .decryptionFailed
        }
    }

    /// Overwrites the shared point and its x-coordinate (the generator's coordinates are public).
    private func wipe() {
        BN_clear(x)
        if let generator = EC_GROUP_get0_generator(group) { EC_POINT_copy(product, generator) }
    }
}
