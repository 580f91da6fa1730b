import Glibc
import UnwrapdCore

exit(Unwrapd.run(CommandLine.arguments))
