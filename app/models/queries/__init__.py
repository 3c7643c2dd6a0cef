"""Every statement run straight on the driver's cursor (app/models/driver_sql.py), one module per area.

They live here, away from the code that runs them, so that the SQL of the whole application can be read (and
is tested: each statement is prepared against the migrated schema of every supported database) in one place.
"""
