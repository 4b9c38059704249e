import Foundation
import Recommendation

/// The clock seam: the loop and handlers read `now` through it; tests inject their own.
public protocol TimeSource: Sendable {
    /// The current instant.
    func now() -> Instant
}

/// The system clock.
public struct SystemTime: TimeSource {
    /// Creates the system clock.
    public init() {}
    /// `Date()` as an instant.
    public func now() -> Instant { Instant(seconds: Date().timeIntervalSince1970) }
}
