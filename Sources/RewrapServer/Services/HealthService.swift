import RewrapProto
import Synchronization

/// `grpc.health.v1.Health/Check` and `GET /healthz` (kas-server.md §1.1): `""` is the server,
/// `kas` the one readiness name the KAS registers; both turn NOT_SERVING while draining.
final class HealthService: Sendable {
    private let draining = Atomic<Bool>(false)

    func beginDraining() { draining.store(true, ordering: .relaxed) }

    func status(service: String) -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        switch service {
        case "", "kas": return draining.load(ordering: .relaxed) ? .notServing : .serving
        default: return .serviceUnknown
        }
    }

    func check(_ request: Grpc_Health_V1_HealthCheckRequest) -> Grpc_Health_V1_HealthCheckResponse {
        var response = Grpc_Health_V1_HealthCheckResponse()
        response.status = status(service: request.service)
        return response
    }
}
