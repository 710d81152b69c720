/** The parts of apache-arrow that parquet-encode builds its tables with (what io/arrow.ts loads). */
export { Bool, Field, Float64, Int64, List, makeData, RecordBatch, Schema, Struct, Table, tableToIPC, Utf8 } from "apache-arrow";
