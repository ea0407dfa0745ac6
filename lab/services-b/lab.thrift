namespace py portolan_lab

enum Kind { HARBOUR = 1, LIGHTHOUSE = 2 }

struct Point {
  1: i32 x,
  2: i32 y,
  3: optional string label,
}

struct Place {
  1: string name,
  2: Kind kind,
  3: Point where,
  4: list<string> tags,
  5: map<string, double> depths,
  6: bool lit,
  7: i64 visitors,
  8: binary flag,
}

exception NotFound {
  1: string message,
  2: i32 code,
}

service Lab {
  string ping(),
  i32 add(1: i32 a, 2: i32 b),
  Point move(1: Point p, 2: i32 dx, 3: i32 dy),
  map<string, list<i32>> lengths(1: list<string> words),
  Place lookup(1: string name) throws (1: NotFound notFound),
  set<i16> evens(1: i8 below),
  void forget(1: string name),
}
