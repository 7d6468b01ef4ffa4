"""Checking titles: the pipeline that checks one title (`pipeline`), the tasks the queue runs
(`tasks`), the jobs it runs on a schedule (`jobs`), and how its workers stop (`worker`)."""
