import protobuf from 'protobufjs';

/**
 * The OTLP trace messages, transcribed from the official definitions
 * (opentelemetry-proto v1: common/v1/common.proto, resource/v1/resource.proto, trace/v1/trace.proto,
 * collector/trace/v1/trace_service.proto), reduced to the fields this server reads. Field numbers and
 * types are the official ones; fields left out (entity refs, deprecated ones) are skipped by the decoder
 * as unknown fields, which protobuf allows.
 */
const OTLP_TRACE_PROTO = `
syntax = "proto3";
package opentelemetry.proto;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
message Resource {
  repeated KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}
message ResourceSpans {
  Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
  string schema_url = 3;
}
message ScopeSpans {
  InstrumentationScope scope = 1;
  repeated Span spans = 2;
  string schema_url = 3;
}
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated KeyValue attributes = 3;
    uint32 dropped_attributes_count = 4;
  }
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Status {
  string message = 2;
  int32 code = 3;
}
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ExportTracePartialSuccess {
  int64 rejected_spans = 1;
  string error_message = 2;
}
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
`;

/**
 * OTLP/HTTP answers a failed request with a `google.rpc.Status` (googleapis google/rpc/status.proto,
 * error_details.proto; protobuf/any.proto), in the request's encoding. Its detail here is one ErrorInfo
 * carrying the promptops error code and fix.
 */
const ANY_PROTO = `
syntax = "proto3";
package google.protobuf;
message Any { string type_url = 1; bytes value = 2; }
`;
const STATUS_PROTO = `
syntax = "proto3";
package google.rpc;
message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
`;

const root = protobuf.parse(OTLP_TRACE_PROTO).root;
protobuf.parse(ANY_PROTO, root);
protobuf.parse(STATUS_PROTO, root);
const ExportTraceServiceRequest = root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');
const ExportTraceServiceResponse = root.lookupType('opentelemetry.proto.ExportTraceServiceResponse');
const RpcStatus = root.lookupType('google.rpc.Status');
const ErrorInfo = root.lookupType('google.rpc.ErrorInfo');

/**
 * Decodes a protobuf request into the same plain shape OTLP/JSON has (lowerCamelCase names, int64 as
 * strings, enums as numbers); ids stay bytes. Throws on malformed input.
 */
export const decodeTraceRequest = (body: Uint8Array): unknown =>
  ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), {
    longs: String,
    enums: Number,
    defaults: false,
  });

export const encodeTraceResponse = (rejectedSpans: number, errorMessage: string): Uint8Array =>
  ExportTraceServiceResponse.encode(
    ExportTraceServiceResponse.fromObject(
      rejectedSpans === 0 ? {} : { partialSuccess: { rejectedSpans, errorMessage } },
    ),
  ).finish();

/** A failed export: gRPC status code, message, and the promptops error code and fix. */
export interface OtlpStatus {
  readonly code: number;
  readonly message: string;
  readonly reason: string;
  readonly fix?: string | undefined;
}

const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';
const errorInfo = (status: OtlpStatus) => ({
  reason: status.reason,
  domain: 'promptops',
  metadata: status.fix === undefined ? {} : { fix: status.fix },
});

/** The Status in the protobuf JSON mapping (an Any's fields beside its `@type`). */
export const statusJson = (status: OtlpStatus): Record<string, unknown> => ({
  code: status.code,
  message: status.message,
  details: [{ '@type': ERROR_INFO_TYPE, ...errorInfo(status) }],
});

export const encodeStatus = (status: OtlpStatus): Uint8Array =>
  RpcStatus.encode(
    RpcStatus.fromObject({
      code: status.code,
      message: status.message,
      details: [
        { typeUrl: ERROR_INFO_TYPE, value: ErrorInfo.encode(ErrorInfo.fromObject(errorInfo(status))).finish() },
      ],
    }),
  ).finish();
