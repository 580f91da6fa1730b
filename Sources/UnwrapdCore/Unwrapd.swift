/// The daemon's entry point: parse, validate, run. Returns the process exit code.
public enum Unwrapd {
    public static let version = "0.1.0"

    public static func run(_ arguments: [String]) -> Int32 {
        Log.always("unwrapd \(version): not implemented yet")
        return 1
    }
}
