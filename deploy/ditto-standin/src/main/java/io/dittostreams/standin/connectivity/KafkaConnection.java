package io.dittostreams.standin.connectivity;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import io.dittostreams.standin.twin.EventListener;
import io.dittostreams.standin.twin.TwinService;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.ditto.connectivity.model.Connection;
import org.eclipse.ditto.connectivity.model.Source;
import org.eclipse.ditto.connectivity.model.Target;
import org.eclipse.ditto.policies.model.enforcers.Enforcer;
import org.eclipse.ditto.things.model.signals.events.ThingEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Kafka connection: a consumer per source address and consumer count, one
 * producer for replies and target events, and a single publishing thread so that the
 * events of a thing leave in the order they were persisted.
 */
final class KafkaConnection implements EventListener {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaConnection.class);

    private final Connection connection;
    private final String id;
    private final TwinService twins;
    private final KafkaProducer<String, String> producer;
    private final ExecutorService publisher;
    private final List<SourceConsumer> consumers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    KafkaConnection(Connection connection, TwinService twins) {
        this.connection = connection;
        this.id = connection.getId().toString();
        this.twins = twins;
        this.producer = new KafkaProducer<>(producerProps(connection.getSpecificConfig()));
        this.publisher = Executors.newSingleThreadExecutor(r -> new Thread(r, id + "-publish"));
    }

    void start() {
        Map<String, String> config = connection.getSpecificConfig();
        String groupId = new Placeholders().connection(id)
                .resolve(config.getOrDefault("groupId", id)).orElse(id);
        for (Source source : connection.getSources()) {
            SourceProcessor processor = new SourceProcessor(source, id, twins, this::send);
            for (String address : source.getAddresses()) {
                for (int n = 0; n < source.getConsumerCount(); n++) {
                    String client = id + "-" + source.getIndex() + "-" + n;
                    SourceConsumer consumer = new SourceConsumer(config, groupId, client,
                            address, processor::process);
                    consumers.add(consumer);
                    threads.add(new Thread(consumer, client));
                }
            }
        }
        threads.forEach(Thread::start);
        twins.addListener(this);
        LOG.info("connection started id={} consumers={} targets={}", id, consumers.size(),
                connection.getTargets().size());
    }

    void stop() {
        twins.removeListener(this);
        consumers.forEach(SourceConsumer::stop);
        for (Thread thread : threads) {
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        publisher.shutdown();
        try {
            publisher.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close();
        LOG.info("connection stopped id={}", id);
    }

    /** True when every source consumer has its partitions. */
    boolean sourcesReady() {
        return consumers.stream().allMatch(SourceConsumer::assigned);
    }

    List<SourceConsumer> consumers() {
        return List.copyOf(consumers);
    }

    @Override
    public void onEvent(ThingEvent<?> event, Enforcer enforcer) {
        for (Target target : connection.getTargets()) {
            Optional<ProducerRecord<String, String>> record =
                    Outbound.event(target, id, event, enforcer);
            record.ifPresent(r -> publisher.execute(() -> send(r)));
        }
    }

    private void send(ProducerRecord<String, String> record) {
        producer.send(record, (metadata, error) -> {
            if (error != null) {
                LOG.error("publish failed connection={} topic={} key={}", id, record.topic(),
                        record.key(), error);
            } else {
                LOG.debug("published connection={} {}[{}]@{} correlation-id={}", id,
                        metadata.topic(), metadata.partition(), metadata.offset(),
                        header(record, "correlation-id"));
            }
        });
    }

    private static String header(ProducerRecord<String, String> record, String name) {
        var header = record.headers().lastHeader(name);
        return header == null ? "" : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static Properties producerProps(Map<String, String> config) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.get("bootstrapServers"));
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        return props;
    }
}
