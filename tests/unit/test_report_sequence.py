from __future__ import annotations

from store_hub.domain.report_sequence import BootSeq, ReportSequence, SeqOutcome


def observe_all(sequence: ReportSequence, boot: str, seqs: list[int]) -> list[SeqOutcome]:
    return [sequence.observe(boot, seq) for seq in seqs]


def test_consecutive_reports_have_no_gaps() -> None:
    sequence = ReportSequence()
    assert observe_all(sequence, "b1", [0, 1, 2]) == [SeqOutcome.NEXT] * 3
    assert sequence.current == BootSeq("b1", 2, 0)


def test_a_jump_opens_gaps_and_late_reports_fill_them() -> None:
    sequence = ReportSequence()
    assert observe_all(sequence, "b1", [0, 4]) == [SeqOutcome.NEXT, SeqOutcome.GAP]
    assert sequence.current == BootSeq("b1", 4, 3)
    assert observe_all(sequence, "b1", [2, 1]) == [SeqOutcome.FILLED] * 2
    assert sequence.current == BootSeq("b1", 4, 1)


def test_the_highest_seq_again_is_a_repeat_even_with_gaps_open() -> None:
    sequence = ReportSequence()
    observe_all(sequence, "b1", [0, 3])
    assert sequence.observe("b1", 3) is SeqOutcome.REPEAT
    assert sequence.current == BootSeq("b1", 3, 2)


def test_a_lower_seq_with_no_gap_open_is_a_repeat() -> None:
    sequence = ReportSequence()
    observe_all(sequence, "b1", [5, 6, 7])
    assert sequence.observe("b1", 6) is SeqOutcome.REPEAT
    assert sequence.observe("b1", 2) is SeqOutcome.REPEAT


def test_counting_starts_at_the_first_seq_seen_of_a_boot() -> None:
    sequence = ReportSequence()
    assert sequence.observe("b1", 118) is SeqOutcome.NEXT
    assert sequence.current == BootSeq("b1", 118, 0)


def test_a_new_boot_starts_afresh_and_the_previous_one_still_counts() -> None:
    sequence = ReportSequence()
    observe_all(sequence, "b1", [0, 3])
    assert sequence.observe("b2", 0) is SeqOutcome.NEXT
    assert sequence.current == BootSeq("b2", 0, 0)
    # The rest of b1, flushed from the agent's spool after it restarted.
    assert sequence.observe("b1", 4) is SeqOutcome.NEXT
    assert sequence.observe("b1", 1) is SeqOutcome.FILLED
    assert sequence.current == BootSeq("b2", 0, 0)


def test_state_restored_after_a_hub_restart_goes_on() -> None:
    sequence = ReportSequence(BootSeq("b1", 10, 1))
    assert sequence.observe("b1", 10) is SeqOutcome.REPEAT
    assert sequence.observe("b1", 12) is SeqOutcome.GAP
    assert sequence.current == BootSeq("b1", 12, 2)


def test_only_a_few_earlier_boots_are_remembered() -> None:
    sequence = ReportSequence()
    for boot in ("b1", "b2", "b3", "b4", "b5"):
        sequence.observe(boot, 0)
    # b1 was forgotten: its next report counts as a new boot's first.
    assert sequence.observe("b1", 1) is SeqOutcome.NEXT
    assert sequence.current == BootSeq("b1", 1, 0)
