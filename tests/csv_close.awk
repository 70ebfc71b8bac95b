# csv_close.awk A B: are two sorted CSV files equal, allowing numbers to
# differ by 0.01 (an average rounded to two places after double or exact
# numeric arithmetic)? Prints the first difference; exit 1 if any.
BEGIN {
    FS = ","
    while ((getline a < ARGV[1]) > 0) {
        if ((getline b < ARGV[2]) <= 0) { print "B is shorter"; exit 1 }
        n = split(a, fa, ","); m = split(b, fb, ",")
        if (n != m) { print "< " a "\n> " b; exit 1 }
        for (i = 1; i <= n; i++) {
            if (fa[i] == fb[i]) continue
            if (fa[i] ~ /^-?[0-9.]+$/ && fb[i] ~ /^-?[0-9.]+$/ && (fa[i] - fb[i] <= 0.0101 && fb[i] - fa[i] <= 0.0101)) continue
            print "< " a "\n> " b; exit 1
        }
    }
    if ((getline b < ARGV[2]) > 0) { print "A is shorter"; exit 1 }
    exit 0
}
