select {{ var('pkg_level') }} as level, {{ quote_suffix() }} as suffix
