"""What staff watch and steer: the dashboard page (`views`), its figures (`dashboard`), and the
staff JSON API over the same figures, the check logs and the jobs (`api`), routed in `urls`."""
