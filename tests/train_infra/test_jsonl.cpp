#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/io/jsonl.hpp"
#include "scratch_dir.hpp"

TEST_CASE("JSONL reader skips blank lines, strips CRLF, numbers lines, reads a last line without newline") {
  r1::test::ScratchDir dir{"jsonl"};
  const auto path = dir.write("a.jsonl", "{\"a\": 1}\r\n\n   \t\n{\"a\": 2}\n{\"a\": 3}");
  r1::JsonlReader reader{path};
  r1::Json record;
  std::vector<std::size_t> lines;
  std::vector<int> values;
  while (reader.next(record)) {
    values.push_back(record["a"].get<int>());
    lines.push_back(reader.line_number());
  }
  CHECK(values == std::vector<int>{1, 2, 3});
  CHECK(lines == std::vector<std::size_t>{1, 4, 5});  // lines 2 and 3 are blank
  CHECK(!reader.next(record));                          // stays at the end

  CHECK(r1::read_jsonl(dir.write("empty.jsonl", "")).empty());
  CHECK(r1::read_jsonl(dir.write("blank.jsonl", "\n\n \n")).empty());
}

TEST_CASE("JSONL errors name the file and the line") {
  r1::test::ScratchDir dir{"jsonl_errors"};
  const auto bad = dir.write("bad.jsonl", "{\"a\": 1}\n\n{\"a\": oops}\n");
  CHECK_THROWS_WITH_AS(r1::read_jsonl(bad), doctest::Contains((bad + ":line 3: malformed JSON").c_str()), r1::Error);

  // 20 bytes of JSON on line 2 against a limit of 16: the limit is exceeded on line 2, not 1.
  const auto long_line = dir.write("long.jsonl", "{\"a\":1}\n{\"text\":\"0123456789\"}\n");
  CHECK_THROWS_WITH_AS(r1::read_jsonl(long_line, 16), doctest::Contains((long_line + ":line 2: line longer than the limit of 16").c_str()),
                       r1::Error);
  // Exactly at the limit is fine: {"a":12345678901} is 17 bytes.
  const auto at_limit = dir.write("at_limit.jsonl", "{\"a\":12345678901}\n");
  CHECK(r1::read_jsonl(at_limit, 17).size() == 1);
  CHECK_THROWS_AS(r1::read_jsonl(at_limit, 16), r1::Error);

  CHECK_THROWS_WITH_AS(r1::JsonlReader{dir.file("missing.jsonl")}, doctest::Contains("missing.jsonl: cannot open"),
                       r1::Error);
}

TEST_CASE("JSONL writer writes one flushed line per record and round-trips") {
  r1::test::ScratchDir dir{"jsonl_write"};
  const auto path = dir.file("out.jsonl");
  {
    r1::JsonlWriter writer{path};
    writer.write(r1::Json{{"prompt", "1+1="}, {"answer", "2"}});
    // Flushed per line: readable before the writer closes.
    CHECK(r1::test::read_file_bytes(path) == "{\"answer\":\"2\",\"prompt\":\"1+1=\"}\n");
    writer.write(r1::Json{{"x", 0.5}});
    CHECK(writer.lines_written() == 2);
    CHECK_THROWS_AS(writer.write_line("{\n}"), r1::Error);
  }
  {
    r1::JsonlWriter appender{path, r1::JsonlWriter::Mode::append};
    appender.write(r1::Json{{"y", nullptr}});
  }
  const auto records = r1::read_jsonl(path);
  REQUIRE(records.size() == 3);
  CHECK(records[0]["answer"] == "2");
  CHECK(records[1]["x"].get<double>() == 0.5);
  CHECK(records[2]["y"].is_null());

  // Invalid UTF-8 is an r1::Error naming the file and line, not a crash.
  r1::JsonlWriter writer{dir.file("utf8.jsonl")};
  CHECK_THROWS_WITH_AS(writer.write(r1::Json{{"s", std::string("\xff\xfe")}}), doctest::Contains("utf8.jsonl:line 1"),
                       r1::Error);
}
