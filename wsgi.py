import gc

from app import create_app

app = create_app()
# Everything loaded so far (modules, mappers, compiled templates) lives as long as the process: keep it out of the
# collector's full passes, which would otherwise walk ~150,000 objects every few hundred requests.
gc.freeze()
