SELECT $__timeGroupAlias(t, '$iv', previous), host FROM x WHERE $__timeFilter(CAST(t AS timestamp)) AND h IN ($multi) AND n = '%$q%' -- $q
