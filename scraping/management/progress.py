class ProgressBar:
    """Progress of a long command on a management command's output wrapper.

    On a terminal it redraws one bar; elsewhere (logs, CI, tests) it writes a
    line per step, so the progress survives in the output.
    """

    def __init__(self, total, output, width=30):
        self.total = total
        self.output = output
        self.width = width
        self.done = 0
        self.live = output.isatty()

    def step(self, label):
        self.done += 1
        counter = f"{self.done}/{self.total}"
        if not self.live:
            self.output.write(f"[{counter}] {label}")
            return
        filled = self.width * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (self.width - filled)
        self.output.write(f"\r[{bar}] {counter} {label[:60]:<60}", ending="")
        self.output.flush()

    def finish(self):
        if self.live:
            self.output.write("")
