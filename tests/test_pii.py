from analytics_pipeline.ingestion.pii import Tokenizer, redact_excerpt


def test_tokens_are_stable_per_key_and_differ_across_keys():
    a, b = Tokenizer(b"key-a"), Tokenizer(b"key-b")
    assert a.token("u_1") == a.token("u_1")
    assert a.token("u_1") != a.token("u_2")
    assert a.token("u_1") != b.token("u_1")
    assert "u_1" not in a.token("u_1")


def test_scrub_replaces_emails_and_the_learners_name():
    text = Tokenizer(b"k").scrub(
        "Thanks! I'm Cosima Hawthorne (cosima.h@example.org); cosima liked it", name="Cosima Hawthorne"
    )
    assert "example.org" not in text
    assert "Cosima" not in text and "cosima" not in text and "Hawthorne" not in text
    assert "Thanks!" in text and "liked it" in text


def test_redacted_excerpt_drops_the_user_object_and_emails():
    raw = b'{"userId": "u_1", "user": {"email": "a@b.org", "name": "Ada Lovelace"}, "note": "mail x@y.com"'
    excerpt = redact_excerpt(raw)
    assert "Lovelace" not in excerpt and "a@b.org" not in excerpt and "x@y.com" not in excerpt
    assert '"userId": "u_1"' in excerpt
