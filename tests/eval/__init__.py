"""`make eval-chat`: the assistant scored on questions whose answers are computed from the sample data."""
